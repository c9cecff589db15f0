#define BOOST_TEST_MODULE secrets_integration
#include <boost/test/unit_test.hpp>

#include "daemon.hpp"

#include <domus/protocol/client.hpp>

#include <sys/stat.h>

// Secrets (graphics passwords) leave the daemon only on the read-write socket, when
// asked for (dumpxml --security-info), as libvirt's; nothing else prints them: not
// dumpxml without the flag, not the read-only socket, not events, the journal or the
// log. domsh edit reads them on the read-write socket so that an edit keeps them.

using namespace domus::testing;
using domus::protocol::json;

namespace {

const std::string secret = "hunter2-s3cret";

const std::string guest_xml = R"(<domain type='test'>
  <name>vault</name>
  <uuid>0c0d8e2a-1b5e-4d5e-9a53-6b0a4f1d2c3e</uuid>
  <memory unit='MiB'>64</memory>
  <os><type>hvm</type></os>
  <devices>
    <graphics type='vnc' port='5901' passwd=')" +
                              secret +
                              R"(' passwdValidTo='2030-01-01T00:00:00'/>
  </devices>
</domain>
)";

struct fixture {
  daemon_process d;
  std::string dir = temp_dir("s");
  std::string file = dir + "/vault.xml";
  fixture() {
    write_file(file, guest_xml);
    auto r = d.domsh({"define " + file});
    BOOST_TEST_REQUIRE(r.status == 0, r.err);
  }
  run_result ro(const std::string& command) {
    return run({domsh_path(), "-r", "-c", d.uri(), command});
  }
  bool has_secret(const std::string& text) {
    return text.find(secret) != std::string::npos;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(secrets, fixture)

BOOST_AUTO_TEST_CASE(dumpxml_omits_secrets_unless_asked_on_the_read_write_socket) {
  auto plain = d.domsh({"dumpxml vault"});
  BOOST_TEST(plain.status == 0);
  BOOST_TEST(!has_secret(plain.out), plain.out);
  BOOST_TEST(plain.out.find("passwdValidTo='2030-01-01T00:00:00'") != std::string::npos);
  BOOST_TEST(!has_secret(d.domsh({"dumpxml --inactive vault"}).out));
  BOOST_TEST(!has_secret(ro("dumpxml vault").out));

  auto secure = d.domsh({"dumpxml --security-info vault"});
  BOOST_TEST(secure.status == 0);
  BOOST_TEST(secure.out.find("passwd='" + secret + "'") != std::string::npos, secure.out);

  auto refused = ro("dumpxml --security-info vault");
  BOOST_TEST(refused.status == 1);
  BOOST_TEST(refused.out == "\n"); // virsh's blank line, and nothing else
  BOOST_TEST(refused.err.find("'domain.xml' with secure is refused on the read-only "
                              "socket: it returns secrets") != std::string::npos,
             refused.err);

  // The graphics element as libvirt's mock prints it, with and without the flag, to the
  // character (libvirt adds a video device Domus does not yet: issue 13).
  auto graphics_lines = [](const std::string& text) {
    std::string out;
    size_t at = 0;
    while ((at = text.find("<graphics", at)) != std::string::npos) {
      size_t end = text.find('\n', at);
      out += text.substr(at, end - at) + "\n";
      at = end;
    }
    return out;
  };
  auto theirs =
      run({"/usr/bin/virsh", "-c", "test:///default",
           "define " + file + "; dumpxml vault; dumpxml --security-info vault"});
  auto ours = d.domsh({"dumpxml vault; dumpxml --security-info vault"}).out;
  BOOST_TEST(graphics_lines(ours) == graphics_lines(theirs.out));
  BOOST_TEST(graphics_lines(ours).find(secret) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_wire_refuses_secure_on_the_read_only_socket) {
  domus::protocol::connection ro_conn(d.root() + "/run/domus/domus-sock-ro", true);
  auto r = ro_conn.call("test:///default", "domain.xml",
                        {{"domain", "vault"}, {"secure", true}}, std::chrono::seconds(5));
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error["code"] == "permission-denied");
  auto open =
      ro_conn.call("test:///default", "domain.xml",
                   {{"domain", "vault"}, {"secure", false}}, std::chrono::seconds(5));
  BOOST_TEST(open.ok);
  BOOST_TEST(!has_secret(open.result["xml"].get<std::string>()));
}

BOOST_AUTO_TEST_CASE(edit_keeps_the_password_and_needs_the_read_write_socket) {
  std::string editor = dir + "/mem.sh";
  write_file(editor, "#!/bin/sh\nsed -i \"s|<memory unit='KiB'>65536</memory>|"
                     "<memory unit='KiB'>32768</memory>|\" \"$1\"\n");
  ::chmod(editor.c_str(), 0755);
  auto r = run({domsh_path(), "-c", d.uri(), "edit vault"}, "", {{"EDITOR", editor}});
  BOOST_TEST(r.status == 0, r.err);
  BOOST_TEST(r.out == "Domain 'vault' XML configuration edited.\n\n");
  auto after = d.domsh({"dumpxml --security-info vault"}).out;
  BOOST_TEST(after.find("<memory unit='KiB'>32768</memory>") != std::string::npos, after);
  BOOST_TEST(after.find("passwd='" + secret + "'") != std::string::npos, after);

  auto refused =
      run({domsh_path(), "-r", "-c", d.uri(), "edit vault"}, "", {{"EDITOR", editor}});
  BOOST_TEST(refused.status == 1);
  BOOST_TEST(refused.err.find("edit needs the read-write socket") != std::string::npos,
             refused.err);
}

BOOST_AUTO_TEST_CASE(no_secret_in_events_journal_log_or_world_readable_files) {
  BOOST_TEST(d.domsh({"start vault"}).status == 0);
  BOOST_TEST(d.domsh({"dominfo vault"}).status == 0);
  BOOST_TEST(d.domsh({"event --all --since 0 --timeout 1"}).status == 0);
  BOOST_TEST(d.domsh({"destroy vault"}).status == 0);
  BOOST_TEST(!has_secret(read_file(d.root() + "/var/lib/domus/events.journal")));
  BOOST_TEST(!has_secret(d.log()));
  // The files that hold it are the daemon's alone.
  for (auto path : {d.root() + "/etc/domus/test/vault.xml"}) {
    struct stat st {};
    BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u, path);
    BOOST_TEST(has_secret(read_file(path)), path);
  }
}

BOOST_AUTO_TEST_SUITE_END()
