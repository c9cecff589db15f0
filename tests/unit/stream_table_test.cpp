// The stream table's rules with a fake client and a fake driver: holes both ways on a
// sparse stream only, the client's end taken by a driver that answers it (on_eof, then
// its finish tells the client), order kept while paused, and a driver built against an
// older header whose callback table stops before on_hole and on_eof.
#include <boost/test/unit_test.hpp>

#include "drivers/stream_services.hpp"
#include "gateway/stream_table.hpp"

#include <memory>
#include <string>
#include <vector>

using domus::runtime::stream_bounds;
using domus::runtime::stream_table;
using nlohmann::json;

namespace {

// What the driver heard, in order: "data:BYTES", "hole:N", "eof", "end:STATUS".
struct heard {
  std::vector<std::string> log;
  static void data(void* a, const void* d, size_t n) {
    static_cast<heard*>(a)->log.push_back("data:" +
                                          std::string(static_cast<const char*>(d), n));
  }
  static void hole(void* a, uint64_t n) {
    static_cast<heard*>(a)->log.push_back("hole:" + std::to_string(n));
  }
  static void eof(void* a) { static_cast<heard*>(a)->log.push_back("eof"); }
  static void end(void* a, int32_t status, const char*) {
    static_cast<heard*>(a)->log.push_back("end:" + std::to_string(status));
  }
};

struct harness {
  std::vector<json> sent; // headers to the client
  stream_table table{stream_bounds{8, 4, 64, 300000},
                     [this](int, const std::string&, const json& h, std::string_view b) {
                       json copy = h;
                       if (!b.empty())
                         copy["bytes_len"] = b.size();
                       sent.push_back(copy);
                       return true;
                     },
                     [] {}};
  heard driver;

  // A stream opened with `cbs_size` bytes of callbacks (an older driver's table).
  domus_stream* open(bool holes, bool answers_end,
                     size_t cbs_size = sizeof(domus_stream_cbs_v1)) {
    auto s = std::make_unique<domus_stream>();
    s->holes = holes;
    domus_stream_cbs_v1 cbs{};
    cbs.struct_size = static_cast<uint32_t>(cbs_size);
    cbs.on_data = heard::data;
    cbs.on_end = heard::end;
    cbs.on_hole = heard::hole;
    cbs.on_eof = answers_end ? heard::eof : nullptr;
    BOOST_TEST_REQUIRE(
        domus::runtime::host_stream_attach(nullptr, s.get(), &cbs, &driver) == 0);
    domus_stream* raw = s.get();
    BOOST_TEST_REQUIRE(!table.reserve(1, "c"));
    table.open(std::move(s), 1, "c");
    return raw;
  }
  void client(domus_stream* s, const std::string& op, json fields = json::object(),
              const std::string& bytes = "") {
    if (!fields.is_object())
      fields = json::object();
    fields["v"] = 1;
    fields["stream"] = s->id;
    fields["op"] = op;
    table.on_client(1, "c", fields, bytes);
  }
  std::string last_op() const { return sent.empty() ? "" : sent.back().value("op", ""); }
};

} // namespace

BOOST_AUTO_TEST_SUITE(stream_table_rules)

BOOST_AUTO_TEST_CASE(holes_travel_on_sparse_streams_only) {
  harness h; // (numbers unsigned, as the JSON parser reads them)
  domus_stream* s = h.open(true, true);
  h.client(s, "data", json::object(), "ab");
  h.client(s, "hole", json{{"bytes", 4096u}});
  BOOST_TEST(h.driver.log == (std::vector<std::string>{"data:ab", "hole:4096"}));
  BOOST_TEST(h.table.send_hole(s, 0) == -EINVAL);
  h.table.on_client(1, "c",
                    {{"v", 1}, {"stream", s->id}, {"op", "credit"}, {"chunks", 1u}}, "");
  BOOST_TEST(h.table.send_hole(s, 1 << 20) == 0);
  BOOST_TEST(h.sent.back()["bytes"] == 1u << 20);
  BOOST_TEST(h.table.send_hole(s, 1) == -EAGAIN); // a hole spends a credit as data does
  // A hole of 0 bytes is a bad request: the stream ends, the driver hears it.
  h.client(s, "hole", json{{"bytes", 0u}});
  BOOST_TEST(h.last_op() == "abort");
  BOOST_TEST(h.driver.log.back() == "end:" + std::to_string(DOMUS_E_BAD_REQUEST));

  harness p;
  domus_stream* plain = p.open(false, false);
  BOOST_TEST(p.table.send_hole(plain, 10) == -ENOTSUP);
  p.client(plain, "hole", json{{"bytes", 10u}});
  BOOST_TEST(p.last_op() == "abort");
  BOOST_TEST(p.sent.back()["message"].get<std::string>().find("takes none") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_driver_that_answers_the_end_keeps_the_stream_until_it_finishes) {
  harness h;
  domus_stream* s = h.open(false, true);
  h.client(s, "data", json::object(), "x");
  h.client(s, "end");
  BOOST_TEST(h.driver.log == (std::vector<std::string>{"data:x", "eof"}));
  BOOST_TEST(h.table.size() == 1u); // still open: the client waits for the answer
  h.table.sweep(std::chrono::steady_clock::now() + std::chrono::hours(1));
  BOOST_TEST(h.table.size() == 1u);            // no idle bound while the driver works
  h.client(s, "data", json::object(), "late"); // nothing after the end but an abort
  BOOST_TEST(h.last_op() == "abort");
  BOOST_TEST(h.driver.log.back() == "end:" + std::to_string(DOMUS_E_BAD_REQUEST));

  harness ok;
  domus_stream* t = ok.open(false, true);
  ok.client(t, "end");
  ok.table.finish(t, DOMUS_OK, "");
  BOOST_TEST(ok.last_op() == "end"); // the client hears the outcome
  BOOST_TEST(ok.driver.log == (std::vector<std::string>{"eof"}));
}

BOOST_AUTO_TEST_CASE(what_arrives_while_paused_keeps_its_order) {
  harness h;
  domus_stream* s = h.open(true, true);
  h.table.pause(s, true);
  h.client(s, "data", json::object(), "a");
  h.client(s, "hole", json{{"bytes", 7u}});
  h.client(s, "data", json::object(), "b");
  h.client(s, "end");
  BOOST_TEST(h.driver.log.empty());
  h.table.pause(s, false);
  h.table.flush();
  BOOST_TEST(h.driver.log ==
             (std::vector<std::string>{"data:a", "hole:7", "data:b", "eof"}));
}

BOOST_AUTO_TEST_CASE(an_older_driver_table_gets_no_holes_and_an_end_as_before) {
  harness h;
  // A 1.2 driver's table ends at on_end: what lies past it is never read.
  domus_stream* s = h.open(true, true, offsetof(domus_stream_cbs_v1, on_hole));
  BOOST_TEST(!s->cbs.on_hole);
  BOOST_TEST(!s->cbs.on_eof);
  h.client(s, "end");
  BOOST_TEST(h.driver.log == (std::vector<std::string>{"end:0"}));
  BOOST_TEST(h.table.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
