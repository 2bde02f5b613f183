// `drover-executor exec`: runs one `alloc exec` command inside a running
// task, for the agent, which relays its frames to a WebSocket client.
//
//   drover-executor exec <state dir> <task name> <task pid> <task start ticks>
//                        <tty 0|1> <command> [<arg>...]
//
// The channel to the agent is the helper's stdin (a unix stream socket,
// framed as common/exec_channel.h says). The command runs as the task
// does, from the executor's launch spec in <state dir>: its environment,
// working directory, user and cgroup; in a session of its own, on a new
// pty (tty 1) or on three pipes. The helper:
//   - reads the command's output only while less than 64 KiB of frames wait
//     for the agent, and reads the agent's frames only while the command
//     has taken all earlier input: memory stays bounded and a slow side
//     slows the other down;
//   - ends the command's process group with SIGKILL when the agent goes
//     away (EOF on the channel), when the task exits (a pidfd of the task,
//     whose start time is checked so that a reused pid is never taken for
//     it), or when it is told to stop (SIGTERM, SIGINT, SIGHUP);
//   - once the command has exited, relays what is left of its output
//     (processes it left behind get 200 ms, then SIGKILL), then sends the
//     exit code and exits.
// Errors before the command runs are one 'f' frame with Nomad's code and
// text.
#pragma once

namespace drover::executor {

// argv[1] is "exec". Returns the helper's exit status.
int RunExecHelper(int argc, char** argv);

}  // namespace drover::executor
