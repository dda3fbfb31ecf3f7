#ifndef C_SLUICE_THREAD_NAME_H
#define C_SLUICE_THREAD_NAME_H

/// Names the calling thread for the operating system (top -H, ps -L, perf, debuggers). Linux keeps at most
/// 15 bytes; longer names are cut. Returns 0 on success, else an errno value.
int sluice_name_current_thread(const char *name);

#endif
