/* The limit for the Kafka benchmark: a plain librdkafka consumer in C, consuming a topic in a consumer group
 * and committing explicit next offsets (async every 1,000 messages, sync at the end), with no other work.
 *
 * Usage: c_consumer <bootstrap> <topic> <group> <expected messages>
 * Prints: c_consumer messages=<n> seconds=<s> rate=<msg/s> (time from the first message to the final commit). */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PARTITIONS 256

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void commit(rd_kafka_t *rk, const char *topic, const int64_t *next, int async) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(MAX_PARTITIONS);
    for (int p = 0; p < MAX_PARTITIONS; p++)
        if (next[p] >= 0) rd_kafka_topic_partition_list_add(list, topic, p)->offset = next[p];
    if (list->cnt > 0) rd_kafka_commit(rk, list, async);
    rd_kafka_topic_partition_list_destroy(list);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: c_consumer <bootstrap> <topic> <group> <expected>\n");
        return 2;
    }
    const char *topic = argv[2];
    long expected = atol(argv[4]);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {
        {"bootstrap.servers", argv[1]}, {"group.id", argv[3]}, {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"}, {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "cooperative-sticky"}, {"log_level", "3"},
    };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s\n", errstr);
            return 1;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *subscription = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subscription, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, subscription);
    rd_kafka_topic_partition_list_destroy(subscription);

    int64_t next[MAX_PARTITIONS];
    for (int p = 0; p < MAX_PARTITIONS; p++) next[p] = -1;
    long count = 0;
    double first = 0;
    double deadline = now() + 120;
    while (count < expected && now() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(rk, 100);
        if (!message) continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (count == 0) first = now();
            count++;
            if (message->partition < MAX_PARTITIONS) next[message->partition] = message->offset + 1;
            if (count % 1000 == 0) commit(rk, topic, next, 1);
        }
        rd_kafka_message_destroy(message);
    }
    commit(rk, topic, next, 0);
    double seconds = now() - first;
    printf("c_consumer messages=%ld seconds=%.3f rate=%.0f\n", count, seconds, count / seconds);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return count == expected ? 0 : 1;
}
