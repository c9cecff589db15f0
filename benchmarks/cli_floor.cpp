// cli_floor: the least a command-line client can do, the floor for domsh's whole-process
// time: exec, connect to the daemon's socket, send one JSON request, print the reply,
// exit. Only libzmq is linked (a shell cannot load less and still speak the protocol).
//
//   cli_floor SOCKET URI PROC [ARGS-JSON]
#include <zmq.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: cli_floor SOCKET URI PROC [ARGS-JSON]\n");
    return 2;
  }
  // The caller's arguments are trusted to be JSON-safe: this is a benchmark floor.
  std::string body = std::string("{\"v\":1,\"id\":1,\"uri\":\"") + argv[2] +
                     "\",\"proc\":\"" + argv[3] +
                     "\",\"args\":" + (argc > 4 ? argv[4] : "{}") + "}";
  void* ctx = zmq_ctx_new();
  void* sock = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_connect(sock, (std::string("ipc://") + argv[1]).c_str()) != 0 ||
      zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 ||
      zmq_send(sock, body.data(), body.size(), 0) < 0) {
    std::fprintf(stderr, "cli_floor: %s\n", zmq_strerror(zmq_errno()));
    return 1;
  }
  int more = 1;
  while (more) { // the empty delimiter, then the reply
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) {
      std::fprintf(stderr, "cli_floor: %s\n", zmq_strerror(zmq_errno()));
      return 1;
    }
    std::fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
    more = zmq_msg_more(&m);
    zmq_msg_close(&m);
  }
  std::fputc('\n', stdout);
  zmq_close(sock);
  zmq_ctx_term(ctx);
  return 0;
}
