#define BOOST_TEST_MODULE transfers_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"
#include "dir_pools_fixture.hpp"
#include "test_files.hpp"

#include <domus/protocol/byte_stream.hpp>
#include <domus/protocol/client.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <random>

// Volume upload and download (vol.upload, vol.download; plugin ABI 1.3) on the storage
// driver's real dir pools, through domsh and the protocol: content, holes, ranges,
// what an abort, a SIGKILL and a volume changed under a download leave, and what runs
// beside a transfer. probe10 stands for the hypervisor whose pools the storage driver
// serves, as in storage_test.cpp.

using namespace domus::testing;
using domus::protocol::byte_stream;
using domus::protocol::errc;
using domus::protocol::json;
using namespace std::chrono_literals;

namespace {

const std::string system_uri = dir_pools_fixture::system_uri;

// Bytes no two tests share, and that no run of zeros hides.
std::string noise(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(gen() % 255 + 1);
  return out;
}

// A root whose storage driver runs qemu-img through a wrapper that stops itself
// (SIGSTOP) before a convert: a copy into qcow2 is then held still until it is aborted
// (SIGKILL ends a stopped process), however fast the machine.
std::string root_with_stopping_convert() {
  std::string root = temp_dir("xf");
  std::string wrapper = root + "/qemu-img-wrapper";
  write_file(wrapper,
             "#!/bin/sh\ncase \" $* \" in *\" convert \"*) kill -STOP $$;; esac\n"
             "exec /usr/bin/qemu-img \"$@\"\n");
  ::chmod(wrapper.c_str(), 0755);
  ::mkdir((root + "/etc").c_str(), 0755);
  ::mkdir((root + "/etc/domus").c_str(), 0755);
  write_file(root + "/etc/domus/storage.conf", "qemu_img = \"" + wrapper + "\"\n");
  return root;
}

struct fixture : dir_pools_fixture {
  fixture() : dir_pools_fixture(root_with_stopping_convert()) {}
  std::string local(const std::string& name) const { return d.root() + "/" + name; }
  void raw(const std::string& name, const std::string& size) {
    auto r = sh("vol-create-as default " + name + " " + size);
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
  }
  // Whether an upload's own file is still in the pool directory.
  bool upload_file_left() const {
    for (auto& name : files_ending(images(), ""))
      if (name.rfind(".domus-upload-", 0) == 0)
        return true;
    return false;
  }
  // Waits (bounded) until the volume takes changes again: its transfer completed.
  void wait_transfer_over(const std::string& vol) {
    for (int i = 0; i < 2000; ++i) {
      auto r = call("vol.resize", {{"pool", "default"},
                                   {"vol", vol},
                                   {"capacity", 0},
                                   {"flags", 2}}); // delta 0: changes nothing
      if (r.ok || r.code != errc::busy)
        return;
      ::usleep(5000); // polled, bounded: the driver completes it on its own
    }
    BOOST_FAIL("the transfer of " + vol + " never completed");
  }
};

struct stat stat_of(const std::string& path) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::lstat(path.c_str(), &st) == 0, path);
  return st;
}

// Reads a download to its end: the bytes of data it carried.
uint64_t drain(byte_stream& b) {
  uint64_t n = 0;
  for (;;) {
    try {
      auto p = b.read_piece(10s);
      BOOST_TEST_REQUIRE(p.has_value(), "the daemon sent nothing for 10 s");
      n += p->data.size();
    } catch (const domus::protocol::error&) {
      if (b.ended())
        return n;
      throw;
    }
  }
}

// A stopped child of `parent` with `word` among its arguments; 0 when none. (Other
// tests' processes are never looked at twice.)
pid_t stopped_child(pid_t parent, const std::string& word) {
  for (auto& entry : files_ending("/proc", "")) {
    if (entry.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmd;
    try {
      cmd = read_file("/proc/" + entry + "/cmdline");
    } catch (...) {
      continue;
    }
    // /proc/PID/stat: "pid (comm) state ppid ...", comm possibly holding spaces.
    std::string stat = read_file("/proc/" + entry + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size() ||
        stat[close + 2] != 'T' || std::atol(stat.c_str() + close + 4) != parent)
      continue;
    std::vector<std::string> args;
    for (size_t at = 0; at < cmd.size();) {
      size_t end = cmd.find('\0', at);
      args.push_back(cmd.substr(at, end - at));
      at = end == std::string::npos ? cmd.size() : end + 1;
    }
    for (auto& a : args)
      if (a == word)
        return static_cast<pid_t>(std::stol(entry));
  }
  return 0;
}

uint64_t allocated(const std::string& path) {
  return static_cast<uint64_t>(stat_of(path).st_blocks) * 512;
}

// A file of `size` bytes with `data` at each of `at`, holes elsewhere.
void sparse_file(const std::string& path, uint64_t size,
                 const std::vector<std::pair<uint64_t, std::string>>& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
  for (auto& [at, bytes] : data)
    BOOST_TEST_REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at)) ==
                       static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(transfers, fixture)

// The done-when: an image uploaded into a volume and downloaded back, byte for byte;
// the volume takes the image's size when it is larger, and its format from its header.
BOOST_AUTO_TEST_CASE(upload_and_download_round_trip) {
  raw("disk", "1M");
  std::string image = noise(3 * 1048576 + 12345, 1); // more than the volume, odd size
  write_file(local("image"), image);
  auto r = sh("vol-upload disk " + local("image") + " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out == "\n");        // virsh prints nothing but the blank line
  BOOST_TEST(r.err.empty(), r.err); // no progress line: stderr is not a terminal
  BOOST_TEST(read_file(images() + "/disk") == image);
  BOOST_TEST((stat_of(images() + "/disk").st_mode & 07777) == 0600u); // the volume's
  auto info = ok("vol.info", {{"pool", "default"}, {"vol", "disk"}});
  BOOST_TEST(info["capacity"] == image.size());
  r = sh("vol-download disk " + local("back") + " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(read_file(local("back")) == image);
  // A smaller image leaves zeros after it, never the old content.
  std::string small = noise(1000, 2);
  write_file(local("small"), small);
  r = sh("vol-upload disk " + local("small") + " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  std::string now = read_file(images() + "/disk");
  BOOST_TEST(now.size() == image.size());
  BOOST_TEST(now.substr(0, 1000) == small);
  BOOST_TEST(now.substr(1000) == std::string(image.size() - 1000, '\0'));
  // A qcow2 image uploaded into a raw volume makes it a qcow2 volume, as its header says.
  auto made =
      run({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", local("q.qcow2"), "64M"});
  BOOST_TEST_REQUIRE(made.status == 0, made.err);
  raw("q", "0");
  r = sh("vol-upload q " + local("q.qcow2") + " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto q = ok("vol.info", {{"pool", "default"}, {"vol", "q"}});
  BOOST_TEST(q["format"] == "qcow2");
  BOOST_TEST(q["capacity"] == 64u * 1048576);
  BOOST_TEST(!upload_file_left());
  // An empty volume downloads as an empty file (its stream ends as soon as it opens).
  raw("empty", "0");
  for (int i = 0; i < 5; ++i) {
    r = sh("vol-download empty " + local("nothing") + " --pool default");
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
    BOOST_TEST(file_exists(local("nothing")));
    BOOST_TEST(read_file(local("nothing")).empty());
  }
}

// On a terminal domsh shows how far a transfer is (bytes, rate, percent); piped, as
// upload_and_download_round_trip checks, nothing. script(1) gives it a terminal.
BOOST_AUTO_TEST_CASE(a_terminal_sees_the_progress_line) {
  raw("shown", "0");
  write_file(local("eight"), noise(8u * 1048576, 11));
  std::string line = domsh_path() + " -c '" + d.uri("/system", "probe10") +
                     "' vol-upload shown " + local("eight") + " --pool default";
  auto r = run({"/usr/bin/script", "-qec", line, "/dev/null"});
  BOOST_TEST_REQUIRE(r.status == 0, r.out << r.err);
  BOOST_TEST(r.out.find("Uploading [") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("] 100%  8.0 MiB of 8.0 MiB") != std::string::npos, r.out);
  BOOST_TEST(read_file(images() + "/shown") == read_file(local("eight")));
  line = domsh_path() + " -c '" + d.uri("/system", "probe10") + "' vol-download shown " +
         local("eight.back") + " --pool default";
  r = run({"/usr/bin/script", "-qec", line, "/dev/null"});
  BOOST_TEST_REQUIRE(r.status == 0, r.out << r.err);
  BOOST_TEST(r.out.find("Downloading [") != std::string::npos, r.out);
  BOOST_TEST(read_file(local("eight.back")) == read_file(local("eight")));
}

// --sparse: holes travel as holes both ways, so neither end allocates them.
BOOST_AUTO_TEST_CASE(sparse_transfers_keep_holes) {
  raw("thin", "0");
  uint64_t size = 64u * 1048576;
  std::string a = noise(70000, 3), b = noise(5000, 4);
  sparse_file(local("sparse.img"), size, {{0, a}, {40u * 1048576, b}});
  auto r = sh("vol-upload thin " + local("sparse.img") + " --pool default --sparse");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(stat_of(images() + "/thin").st_size == static_cast<off_t>(size));
  BOOST_TEST(allocated(images() + "/thin") < 4u * 1048576);
  BOOST_TEST(read_file(images() + "/thin") == read_file(local("sparse.img")));
  r = sh("vol-download thin " + local("thin.back") + " --pool default --sparse");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(stat_of(local("thin.back")).st_size == static_cast<off_t>(size));
  BOOST_TEST(allocated(local("thin.back")) < 4u * 1048576);
  BOOST_TEST(read_file(local("thin.back")) == read_file(local("sparse.img")));
  // Into a pipe (stdout here) or a device the holes arrive as zeros, in order.
  r = sh("vol-download thin /dev/stdout --pool default --sparse --length 100000");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST((r.out == a + std::string(30000, '\0') + "\n"));
  r = sh("vol-download thin /dev/null --pool default --sparse");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(file_exists("/dev/null"));
  // Without --sparse the same bytes arrive as data (zeros written out).
  r = sh("vol-download thin " + local("thick.back") + " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(allocated(local("thick.back")) >= size);
  BOOST_TEST(read_file(local("thick.back")) == read_file(local("sparse.img")));
}

// --offset and --length: an upload changes that range only, a download reads it only.
BOOST_AUTO_TEST_CASE(ranges_change_and_read_only_their_bytes) {
  raw("r", "1M");
  std::string before = noise(1048576, 5);
  write_file(images() + "/r", before);
  write_file(local("patch"), noise(300000, 6));
  auto r = sh("vol-upload r " + local("patch") +
              " --pool default --offset 4096 --length 10000");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  std::string after = read_file(images() + "/r");
  std::string expect = before;
  expect.replace(4096, 10000, read_file(local("patch")).substr(0, 10000));
  BOOST_TEST((after == expect));
  // A hole in a range reads as zeros after it (punched, not skipped).
  sparse_file(local("zeros"), 8192, {});
  r = sh("vol-upload r " + local("zeros") + " --pool default --offset 100 --sparse");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  expect.replace(100, 8192, std::string(8192, '\0'));
  BOOST_TEST((read_file(images() + "/r") == expect));
  r = sh("vol-download r " + local("part") +
         " --pool default --offset 4000 --length 200");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST((read_file(local("part")) == expect.substr(4000, 200)));
  // An offset past the end is refused naming it; nothing is written.
  r = sh("vol-download r " + local("none") + " --pool default --offset 2000000");
  BOOST_TEST(r.status != 0);
  BOOST_TEST(r.err.find("error: cannot download from volume r\n") != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("offset 2000000 lies past its end (1048576 bytes)") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(!file_exists(local("none")));
}

// An upload the client aborts, or that sends more than its length, leaves the volume as
// it was and no file of its own behind; so does a daemon killed in the middle of one.
BOOST_AUTO_TEST_CASE(an_interrupted_upload_changes_nothing) {
  raw("keep", "1M");
  std::string before = noise(1048576, 7);
  write_file(images() + "/keep", before);
  auto opened = ok("vol.upload", {{"pool", "default"}, {"vol", "keep"}});
  byte_stream bs(c, opened);
  std::string chunk = noise(bs.chunk_bytes(), 8);
  for (int i = 0; i < 3; ++i)
    bs.write(chunk, 10s);
  bs.abort("changed my mind");
  wait_transfer_over("keep");
  BOOST_TEST((read_file(images() + "/keep") == before));
  BOOST_TEST(!upload_file_left());
  // More than --length: refused on the stream, the volume untouched.
  auto limited =
      ok("vol.upload", {{"pool", "default"}, {"vol", "keep"}, {"length", 1000}});
  byte_stream lb(c, limited);
  lb.write(chunk.substr(0, 999), 10s);
  lb.write(chunk.substr(0, 2), 10s);
  try {
    lb.finish(10s);
    BOOST_FAIL("an upload past its length completed");
  } catch (const domus::protocol::error& e) {
    BOOST_TEST(std::string(e.what()).find("sent more than its length (1000 bytes)") !=
                   std::string::npos,
               e.what());
  }
  wait_transfer_over("keep");
  BOOST_TEST((read_file(images() + "/keep") == before));
  // Aborted by vol.jobabort (another client's): the stream ends with `aborted`.
  auto stopped = ok("vol.upload", {{"pool", "default"}, {"vol", "keep"}});
  byte_stream sb(c, stopped);
  sb.write(chunk, 10s);
  domus::protocol::connection other(d.socket(), false);
  auto ab =
      other.call(system_uri, "vol.jobabort", {{"pool", "default"}, {"vol", "keep"}}, 10s);
  BOOST_TEST_REQUIRE(ab.ok, ab.message);
  BOOST_TEST(ab.result["aborted"] == 1u);
  try {
    sb.finish(10s);
    BOOST_FAIL("an aborted upload completed");
  } catch (const domus::protocol::error& e) {
    BOOST_TEST((e.code() == errc::aborted), e.what());
    BOOST_TEST(std::string(e.what()).find("was aborted") != std::string::npos, e.what());
  }
  wait_transfer_over("keep");
  BOOST_TEST((read_file(images() + "/keep") == before));
  BOOST_TEST(!upload_file_left());
  // A hole on a stream not opened sparse: aborted as a bad request.
  auto plain = ok("vol.upload", {{"pool", "default"}, {"vol", "keep"}});
  BOOST_TEST(plain["holes"] == false);
  c.send_stream(plain["stream"].get<uint64_t>(), "hole", {{"bytes", 4096}});
  byte_stream pb(c, plain);
  BOOST_CHECK_THROW(pb.finish(10s), domus::protocol::error);
  wait_transfer_over("keep");
  BOOST_TEST((read_file(images() + "/keep") == before));
  // SIGKILL with an upload half sent: the volume as it was; the next start of the pool
  // removes what the upload wrote.
  auto killed = ok("vol.upload", {{"pool", "default"}, {"vol", "keep"}});
  byte_stream kb(c, killed);
  kb.write(chunk, 10s);
  kb.write(chunk, 10s);
  // The first chunk written proves the upload's file exists: wait for it (bounded).
  for (int i = 0; i < 2000 && !upload_file_left(); ++i)
    ::usleep(5000);
  BOOST_TEST_REQUIRE(upload_file_left());
  std::string root = d.root();
  d.kill9();
  BOOST_TEST((read_file(images() + "/keep") == before));
  daemon_process again({"--plugin-dir", probe_plugin_dir({}, {"storage.so"})}, root);
  auto list = again.domsh({"vol-list default"}, "", "/system", "probe10");
  BOOST_TEST_REQUIRE(list.status == 0, list.err);
  BOOST_TEST(list.out.find(".domus-upload-") == std::string::npos, list.out);
  BOOST_TEST(!upload_file_left());
  again.stop();
}

// A transfer runs beside the pool's other jobs: a volume is made while an upload waits
// for its client; what would pull its volume from under it is refused, busy, naming it.
BOOST_AUTO_TEST_CASE(other_jobs_run_beside_a_transfer) {
  raw("big", "1M");
  raw("other", "1M");
  auto opened = ok("vol.upload", {{"pool", "default"}, {"vol", "big"}});
  byte_stream bs(c, opened);
  bs.write(noise(1000, 9), 10s);
  auto r = sh("vol-create-as default beside 1M");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(r.out == "Vol beside created\n\n");
  ok("vol.wipe", {{"pool", "default"}, {"vol", "other"}});
  auto jobs = ok("vol.jobinfo", {{"pool", "default"}, {"vol", "big"}})["jobs"];
  BOOST_TEST_REQUIRE(jobs.size() == 1u, jobs.dump());
  BOOST_TEST(jobs[0]["proc"] == "vol.upload");
  refused("vol.delete", {{"pool", "default"}, {"vol", "big"}}, errc::busy,
          "volume 'big' of storage pool 'default' is busy: an upload to it runs");
  refused("vol.download", {{"pool", "default"}, {"vol", "big"}}, errc::busy,
          "an upload to it runs");
  refused("vol.clone", {{"pool", "default"}, {"vol", "big"}, {"name", "copy"}},
          errc::busy, "an upload to it runs");
  refused("pool.refresh", {{"pool", "default"}}, errc::busy,
          "storage pool 'default' has asynchronous jobs running: an upload to volume "
          "'big'");
  refused("pool.destroy", {{"pool", "default"}}, errc::busy, "asynchronous jobs running");
  bs.finish(30s);
  wait_transfer_over("big");
  BOOST_TEST(read_file(images() + "/big").substr(0, 1000) == noise(1000, 9));
  // Two downloads of one volume run side by side.
  auto d1 = ok("vol.download", {{"pool", "default"}, {"vol", "other"}});
  auto d2 = ok("vol.download", {{"pool", "default"}, {"vol", "other"}});
  byte_stream b1(c, d1), b2(c, d2);
  // (b2's first window waits in the connection while b1 is read.)
  BOOST_TEST(drain(b1) == 1048576u);
  BOOST_TEST(drain(b2) == 1048576u);
  ok("pool.refresh", {{"pool", "default"}});
}

// A copy runs as a long-running job beside the pool's queue (ABI 1.3 create_job): the
// new name and the source are held (libvirt's building and in_use), vol.jobinfo shows
// it, and vol.jobabort stops it, its caller hearing `aborted` and nothing left of the
// copy. qemu-img (a copy into qcow2) is stopped with SIGSTOP to hold the job still.
BOOST_AUTO_TEST_CASE(copies_are_jobs_that_can_be_aborted) {
  raw("src", "16M");
  int64_t id = c.send(
      system_uri, "vol.create-from",
      {{"pool", "default"},
       {"xml", "<volume><name>copy.qcow2</name><capacity>16777216</capacity><target>"
               "<format type='qcow2'/></target></volume>"},
       {"input", {{"pool", "default"}, {"vol", "src"}}}});
  // The wrapper stops itself before it runs qemu-img convert: polled (bounded) until
  // it has.
  pid_t converter = 0;
  for (int i = 0; i < 2000 && !converter; ++i) {
    converter = stopped_child(d.pid(), "convert");
    if (!converter)
      ::usleep(5000);
  }
  BOOST_TEST_REQUIRE(converter > 0, "the copy's qemu-img convert never started");
  auto info = ok("vol.jobinfo", {{"pool", "default"}, {"vol", "copy.qcow2"}});
  BOOST_TEST_REQUIRE(info["jobs"].size() == 1u, info.dump());
  BOOST_TEST(info["jobs"][0]["proc"] == "vol.create-from");
  BOOST_TEST(ok("vol.jobinfo", {{"pool", "default"}, {"vol", "src"}})["jobs"].empty());
  refused("vol.delete", {{"pool", "default"}, {"vol", "src"}}, errc::busy,
          "volume 'src' of storage pool 'default' is busy: a copy from it runs");
  refused("vol.create",
          {{"pool", "default"},
           {"xml", "<volume><name>copy.qcow2</name><capacity>1</capacity></volume>"}},
          errc::busy,
          "volume 'copy.qcow2' of storage pool 'default' is busy: a create of "
          "it runs");
  refused("pool.refresh", {{"pool", "default"}}, errc::busy,
          "has asynchronous jobs running: a create of volume 'copy.qcow2'");
  // Beside it: another volume made, the source read.
  auto r = sh("vol-create-as default beside 1M; vol-download src " + local("src.back") +
              " --pool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  auto aborted = sh("vol-jobabort copy.qcow2 --pool default");
  BOOST_TEST_REQUIRE(aborted.status == 0, aborted.err);
  auto reply = c.wait_for(id, 30s, "vol.create-from");
  BOOST_TEST(!reply.ok);
  BOOST_TEST((reply.code == errc::aborted), reply.message);
  BOOST_TEST(!file_exists(images() + "/copy.qcow2"));
  wait_transfer_over("src");
  refused("vol.jobabort", {{"pool", "default"}, {"vol", "src"}}, errc::invalid_operation,
          "no job runs on volume 'src' of storage pool 'default'");
  // Not aborted, it completes as before.
  write_file(local("copy.xml"),
             "<volume><name>copy2</name><capacity>0</capacity></volume>");
  r = sh("vol-create-from default " + local("copy.xml") + " src --inputpool default");
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  BOOST_TEST(read_file(images() + "/copy2") == read_file(images() + "/src"));
}

// A volume written while it is downloaded: the download fails saying so, never a mix of
// old and new bytes that looks complete.
BOOST_AUTO_TEST_CASE(a_volume_changed_under_a_download_fails_it) {
  raw("moving", "16M");
  write_file(images() + "/moving", noise(16u * 1048576, 10));
  auto opened = ok("vol.download", {{"pool", "default"}, {"vol", "moving"}});
  byte_stream bs(c, opened);
  // The first chunk proves the driver has the file open and its state noted.
  BOOST_TEST_REQUIRE(bs.read_piece(10s).has_value());
  {
    int fd = ::open((images() + "/moving").c_str(), O_WRONLY);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::pwrite(fd, "x", 1, 8u * 1048576 + 7) == 1);
    ::close(fd);
  }
  std::string why;
  try {
    while (bs.read_piece(10s)) {
    }
  } catch (const domus::protocol::error& e) {
    why = e.what();
  }
  BOOST_TEST(why.find("volume 'moving' of storage pool 'default' changed while it was "
                      "downloaded") != std::string::npos,
             why);
}

// Who may move a volume's bytes: not the read-only socket (a volume is a guest's disk),
// not onto a link listed read-only; the test driver refuses both as libvirt's mock does.
BOOST_AUTO_TEST_CASE(transfers_are_refused_where_they_must_be) {
  raw("mine", "1M");
  domus::protocol::connection ro(d.root() + "/run/domus/domus-sock-ro", true);
  auto r =
      ro.call(system_uri, "vol.download", {{"pool", "default"}, {"vol", "mine"}}, 10s);
  BOOST_TEST(!r.ok);
  BOOST_TEST((r.code == errc::permission_denied), r.message);
  BOOST_TEST_REQUIRE(::symlink("mine", (images() + "/link").c_str()) == 0);
  BOOST_TEST_REQUIRE(::symlink("/etc/hostname", (images() + "/out").c_str()) == 0);
  ok("pool.refresh", {{"pool", "default"}});
  write_file(local("x"), "abc");
  auto up = sh("vol-upload link " + local("x") + " --pool default");
  BOOST_TEST(up.status != 0);
  BOOST_TEST(up.err == "error: cannot upload to volume link\nerror: volume 'link' of "
                       "storage pool 'default' is a symbolic link, listed read-only: it "
                       "cannot be uploaded to\n",
             up.err);
  // A link inside the pool is read through: its target's bytes.
  write_file(images() + "/mine", "inside");
  auto down = sh("vol-download link " + local("y") + " --pool default");
  BOOST_TEST_REQUIRE(down.status == 0, down.err);
  BOOST_TEST(read_file(local("y")) == "inside");
  // One whose target lies outside is listed, never read.
  auto out = sh("vol-download out " + local("w") + " --pool default");
  BOOST_TEST(out.status != 0);
  BOOST_TEST(out.err.find("volume 'out' of storage pool 'default' cannot be read: it is "
                          "a link out of its pool") != std::string::npos,
             out.err);
  BOOST_TEST(!file_exists(local("w")));
  // libvirt's mock supports neither; neither does Domus's test driver.
  auto t = d.domsh({"vol-create-as default-pool v 1M; vol-upload --pool default-pool v " +
                    local("x") + "; vol-download --pool default-pool v " + local("z")});
  BOOST_TEST(t.status != 0);
  BOOST_TEST(t.err.find("error: cannot upload to volume v\nerror: the test driver does "
                        "not support 'upload volume' of storage volumes\n") !=
                 std::string::npos,
             t.err);
  BOOST_TEST(t.err.find("error: cannot download from volume v\n") != std::string::npos,
             t.err);
  BOOST_TEST(!file_exists(local("z")));
}

BOOST_AUTO_TEST_SUITE_END()
