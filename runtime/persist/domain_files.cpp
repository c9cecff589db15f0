#include "persist/domain_files.hpp"

#include "persist/instance_restore.hpp"

namespace domus::runtime {

store::change domain_files::definition(const model::domain_def& def) const {
  return {store::change::write, paths.definition_path(name),
          model::format_domain(def, model::secrets::keep), true};
}

store::change domain_files::no_definition() const {
  return {store::change::remove, paths.definition_path(name), "", true};
}

store::change domain_files::autostart() const {
  return {store::change::link, paths.autostart_path(name), paths.definition_path(name),
          true};
}

store::change domain_files::no_autostart() const {
  return {store::change::remove, paths.autostart_path(name), "", true};
}

store::change domain_files::status(const domain_summary& s) const {
  return {store::change::write, paths.status_path(name), status_text(s), false};
}

store::change domain_files::no_status() const {
  return {store::change::remove, paths.status_path(name), "", false};
}

} // namespace domus::runtime
