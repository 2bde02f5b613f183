// When the process runs out of file descriptors, Pistache 0.0.5's listener
// spins: accept4() fails with EMFILE, the listening socket stays readable,
// and its poll loop retries at once, pinning a core while clients wait in
// the backlog. This unit, linked into the drover binary only, interposes
// accept4() (the executable's definition wins over libc's for
// libpistache.so): on EMFILE/ENFILE it retries for up to 100 ms (closing
// connections free their fds), then closes a reserved descriptor,
// accepts the waiting connection, answers it 503, closes it and reserves
// the descriptor again, then reports EAGAIN, which Pistache treats as a
// transient socket error. Without a reserve it sleeps 50 ms instead.
#pragma once

namespace drover {

// Opens the reserved descriptor. Call once at start, before serving.
void InstallAcceptBackoff();

}  // namespace drover
