/* cloud_server.h - starts the real build/vigil-cloud for end-to-end tests. */
#ifndef VIGIL_TEST_CLOUD_SERVER_H
#define VIGIL_TEST_CLOUD_SERVER_H

#include <sys/types.h>

/*
 * Starts $VIGIL_BUILD/vigil-cloud -c conf -l 127.0.0.1:0 -d db and reads the
 * port it bound from its first line ("vigil-cloud: listening on ADDR:PORT").
 * Returns 0 with *pid and *port set, or -1 (the server, if started, is stopped).
 */
int vg_test_cloud_spawn(const char *conf, const char *db, pid_t *pid, int *port);
/* The same on a given listen address ("127.0.0.1:PORT"), e.g. to restart the service where its clients expect it. */
int vg_test_cloud_spawn_at(const char *conf, const char *db, const char *listen, pid_t *pid, int *port);

#endif
