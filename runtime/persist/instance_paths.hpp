// Where an instance's files live: definitions, autostart links, status files. CAF-free,
// so that the persistence room can read and write them (actors/instance_context.hpp
// adds what the actors share).
#pragma once

#include <string>

namespace domus::runtime {

/// The folders of one persisted instance and the files in them.
struct instance_paths {
  std::string etc_dir;    ///< definitions, "<etc_dir>/<name>.xml"; "": not persisted
  std::string status_dir; ///< status of active domains; "" when not persisted

  bool persisted() const { return !etc_dir.empty(); }
  std::string definition_path(const std::string& name) const {
    return etc_dir + "/" + name + ".xml";
  }
  std::string autostart_path(const std::string& name) const {
    return etc_dir + "/autostart/" + name + ".xml";
  }
  std::string status_path(const std::string& name) const {
    return status_dir + "/" + name + ".xml";
  }
};

} // namespace domus::runtime
