#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "CSluiceThreadName.h"

int sluice_name_current_thread(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = '\0';
    return pthread_setname_np(pthread_self(), cut);
}
