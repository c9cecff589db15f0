#include "domus/protocol/topics.hpp"

#include "domus/protocol/errors.hpp"

#include <algorithm>

namespace domus::protocol {

namespace {

using kind = topic_field::kind;

std::vector<driver_topic> make_topics() {
  return {
      {"domain.device-removed",
       "device-removed",
       true,
       {{"device", kind::string, true, {}, "the device's alias, e.g. `virtio-disk1`"}},
       "a device left the guest (an unplug the guest completed)"},
      {"domain.device-added",
       "device-added",
       true,
       {{"device", kind::string, true, {}, "the device's alias, e.g. `virtio-disk1`"}},
       "a device joined the running guest (a hotplug completed)"},
      {"domain.block-job",
       "block-job",
       true,
       {{"disk", kind::string, true, {}, "the disk's target (`vda`) or source path"},
        {"type",
         kind::string,
         true,
         {"pull", "copy", "commit", "active_commit", "backup"},
         "the job"},
        {"status",
         kind::string,
         true,
         {"completed", "failed", "canceled", "ready"},
         "how it ended, or `ready` (a copy mirrors: it can be pivoted)"}},
       "a block job ended or became ready"},
      {"domain.io-error",
       "io-error",
       true,
       {{"source", kind::string, true, {}, "the disk's source path"},
        {"device", kind::string, true, {}, "the disk's alias"},
        {"action", kind::string, true, {"none", "pause", "report"}, "what the guest saw"},
        {"reason", kind::string, false, {}, "why, e.g. `enospc`"}},
       "a disk failed a guest's I/O"},
      {"domain.rtc-change",
       "rtc-change",
       true,
       {{"offset_s", kind::integer, true, {}, "the guest clock's offset from UTC"}},
       "the guest set its clock"},
      {"domain.balloon-change",
       "balloon-change",
       false,
       {{"actual_kib", kind::integer, true, {}, "the memory the guest has now"}},
       "the balloon moved"},
  };
}

std::string where(const driver_topic& t, std::string_view key) {
  return "event " + std::string(t.name) + ": field '" + std::string(key) + "' ";
}

} // namespace

const std::vector<driver_topic>& driver_topics() {
  static const std::vector<driver_topic> topics = make_topics();
  return topics;
}

const driver_topic* find_driver_topic(std::string_view name) {
  for (auto& t : driver_topics())
    if (t.name == name)
      return &t;
  return nullptr;
}

nlohmann::json check_driver_event(const driver_topic& t, std::string_view body,
                                  size_t max_string) {
  auto fields = nlohmann::json::parse(body, nullptr, false);
  if (!fields.is_object())
    throw error(errc::invalid_argument,
                "event " + std::string(t.name) + ": the body is not a JSON object");
  for (auto item = fields.begin(); item != fields.end(); ++item) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    auto f = std::find_if(t.fields.begin(), t.fields.end(),
                          [&](const topic_field& f) { return f.key == key; });
    if (f == t.fields.end())
      throw error(errc::invalid_argument, where(t, key) + "is not one of the topic's");
    if (f->type == kind::integer && !value.is_number_integer())
      throw error(errc::invalid_argument, where(t, key) + "is not an integer");
    if (f->type == kind::string) {
      if (!value.is_string())
        throw error(errc::invalid_argument, where(t, key) + "is not a string");
      auto& s = value.get_ref<const std::string&>();
      if (s.size() > max_string)
        throw error(errc::invalid_argument, where(t, key) + "is longer than " +
                                                std::to_string(max_string) + " bytes");
      if (!f->words.empty() &&
          std::find(f->words.begin(), f->words.end(), s) == f->words.end())
        throw error(errc::invalid_argument,
                    where(t, key) + "is '" + s + "', not one of the topic's words");
    }
  }
  for (auto& f : t.fields)
    if (f.required && !fields.contains(std::string(f.key)))
      throw error(errc::invalid_argument, where(t, f.key) + "is missing");
  return fields;
}

} // namespace domus::protocol
