// A list reply cut into pages that fit max_reply_bytes: domain.list, pool.list and
// vol.list. Rows go in in the list's order, each with the cursor that continues after it;
// the page stops before its budget, and `next` (the last row's cursor) tells the client
// where to go on. No CAF here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace domus::runtime {

/// Builds {"FIELD":[row,...],"next":CURSOR} as JSON text.
class paged_list {
public:
  /// `budget`: at most this many bytes of reply (the first row always goes in).
  paged_list(std::string_view field, uint64_t budget);

  /// Adds a row: `write(out)` appends the row's JSON text to `out`. False when the row
  /// did not fit (it is not added, and the page is full).
  template <class Write> bool add(Write&& write, std::string_view cursor) {
    size_t before = out_.size();
    if (rows_ > 0)
      out_ += ',';
    write(out_);
    return placed(before, cursor);
  }

  /// The reply's text; `more` says rows were left (then `next` is written).
  std::string finish(bool more);

  size_t rows() const { return rows_; }

private:
  bool placed(size_t before, std::string_view cursor);

  std::string out_;
  std::string next_;
  uint64_t budget_;
  size_t rows_ = 0;
};

/// The budget of a page under `max_reply_bytes`: room left for the envelope.
uint64_t page_budget(uint64_t max_reply_bytes);

} // namespace domus::runtime
