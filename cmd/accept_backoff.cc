#include "cmd/accept_backoff.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string_view>

namespace drover {
namespace {

std::atomic<int> g_reserve_fd{-1};

int RealAccept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  return static_cast<int>(::syscall(SYS_accept4, fd, addr, len, flags));
}

int OpenReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

void InstallAcceptBackoff() {
  int expected = -1;
  int fd = OpenReserve();
  if (fd >= 0 && !g_reserve_fd.compare_exchange_strong(expected, fd)) ::close(fd);
}

}  // namespace drover

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  int client = drover::RealAccept4(fd, addr, len, flags);
  // Connections the HTTP edge just shut are closed by their worker threads
  // a moment later: give them that moment before shedding anyone.
  for (int retry = 0; retry < 5 && client < 0 && (errno == EMFILE || errno == ENFILE); ++retry) {
    ::usleep(20'000);
    client = drover::RealAccept4(fd, addr, len, flags);
  }
  if (client >= 0 || (errno != EMFILE && errno != ENFILE)) return client;

  const int reserve = drover::g_reserve_fd.exchange(-1);
  if (reserve < 0) {
    ::usleep(50'000);
  } else {
    ::close(reserve);
    const int shed = drover::RealAccept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (shed >= 0) {
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 31\r\nConnection: close\r\n\r\nout of file descriptors, retry\n";
      (void)::send(shed, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(shed);
    }
    int fresh = drover::OpenReserve();
    int expected = -1;
    if (fresh >= 0 && !drover::g_reserve_fd.compare_exchange_strong(expected, fresh)) ::close(fresh);
  }
  errno = EAGAIN;
  return -1;
}
