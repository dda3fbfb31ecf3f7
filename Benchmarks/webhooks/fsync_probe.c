/*
 * fsync_probe: how long fdatasync takes on this disk right now. It overwrites 8 KiB blocks of a
 * preallocated 32 MiB file in turn (as SQLite overwrites a reused WAL), one fdatasync per write, one
 * write per millisecond, for SECONDS, and prints the latencies as one JSON line.
 *
 * run-webhooks.sh runs it on the idle machine, and while Sluice's route alone (no inbox, no fsync)
 * serves the latency run's rate: the CPU load of Sluice's run, with the disk to itself. Its tail is
 * the floor under the tail of any server that syncs before it answers.
 *
 * Usage: fsync_probe FILE SECONDS
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BLOCK = 8192, BLOCKS = 4096 };

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fsync_probe FILE SECONDS\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    static char block[BLOCK];
    memset(block, 'x', sizeof block);
    for (int i = 0; i < BLOCKS; i++) {
        if (write(fd, block, BLOCK) != BLOCK) {
            perror("write");
            return 1;
        }
    }
    fsync(fd);
    size_t capacity = (size_t)(seconds * 1000) + 16, count = 0;
    double *latencies = malloc(capacity * sizeof *latencies);
    double start = now_ms();
    while (count < capacity && now_ms() - start < seconds * 1000) {
        if (pwrite(fd, block, BLOCK, (off_t)(count % BLOCKS) * BLOCK) != BLOCK) {
            perror("pwrite");
            return 1;
        }
        double before = now_ms();
        fdatasync(fd);
        latencies[count++] = now_ms() - before;
        usleep(1000);
    }
    close(fd);
    unlink(argv[1]);
    if (count == 0) return 1;
    size_t over = 0;
    for (size_t i = 0; i < count; i++) over += latencies[i] > 2.0;
    qsort(latencies, count, sizeof *latencies, by_value);
    printf("{\"fdatasyncs\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"over_2ms\":%zu}\n", count,
           latencies[count / 2], latencies[count * 99 / 100], latencies[count * 999 / 1000], latencies[count - 1], over);
    free(latencies);
    return 0;
}
