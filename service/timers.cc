#include "service/timers.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

namespace drover {

namespace asio = boost::asio;

struct Timers::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{asio::make_work_guard(io)};
  std::set<std::shared_ptr<asio::steady_timer>> pending;  // timer thread only
  bool stopped = false;
  std::thread thread{[this] { io.run(); }};
};

Timers::Timers() : impl_(std::make_unique<Impl>()) {}

Timers::~Timers() { Stop(); }

void Timers::After(Nanos delay, std::function<void()> fn) {
  asio::post(impl_->io, [impl = impl_.get(), delay, fn = std::move(fn)]() mutable {
    if (impl->stopped) return;
    auto timer = std::make_shared<asio::steady_timer>(impl->io);
    timer->expires_after(std::chrono::nanoseconds(std::clamp<Nanos>(delay, 0, kMaxTimerDelay)));
    impl->pending.insert(timer);
    timer->async_wait([impl, timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      impl->pending.erase(timer);
      if (!ec && !impl->stopped) fn();
    });
  });
}

void Timers::Stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->stopped = true;
    for (const auto& t : impl->pending) t->cancel();
    impl->work.reset();
  });
  impl_->thread.join();
}

}  // namespace drover
