#include "actors/paged_list.hpp"

#include <domus/protocol/codec.hpp>

#include <algorithm>

namespace domus::runtime {

paged_list::paged_list(std::string_view field, uint64_t budget) : budget_(budget) {
  out_ = "{\"";
  out_ += field;
  out_ += "\":[";
}

bool paged_list::placed(size_t before, std::string_view cursor) {
  // The cursor goes in too, escaped (at most six bytes a byte, as \u001f).
  if (out_.size() + 6 * cursor.size() > budget_ && rows_ > 0) {
    out_.resize(before);
    return false;
  }
  ++rows_;
  next_.assign(cursor);
  return true;
}

std::string paged_list::finish(bool more) {
  out_ += "]";
  if (more)
    out_ += ",\"next\":" + protocol::json_text(protocol::json(next_));
  out_ += "}";
  return std::move(out_);
}

uint64_t page_budget(uint64_t max_reply_bytes) {
  // The reply's envelope (id, ok, the cursor) stays within these bytes.
  return max_reply_bytes - std::min<uint64_t>(max_reply_bytes, 512);
}

} // namespace domus::runtime
