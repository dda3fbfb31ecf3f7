#ifndef SLUICE_CRDKAFKA_SHIM_H
#define SLUICE_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
// The mock cluster API (the embedded dev Kafka and the tests); must come after rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#endif
