/* cloud_server.h - starts the real build/vigil-cloud for end-to-end tests. */
#ifndef VIGIL_TEST_CLOUD_SERVER_H
#define VIGIL_TEST_CLOUD_SERVER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Starts $VIGIL_BUILD/vigil-cloud -c conf -l 127.0.0.1:0 -d db and reads the
 * port it bound from its first line ("vigil-cloud: listening on ADDR:PORT").
 * Returns 0 with *pid and *port set, or -1 (the server, if started, is stopped).
 */
int vg_test_cloud_spawn(const char *conf, const char *db, pid_t *pid, int *port);
/* The same on a given listen address ("127.0.0.1:PORT"), e.g. to restart the service where its clients expect it. */
int vg_test_cloud_spawn_at(const char *conf, const char *db, const char *listen, pid_t *pid, int *port);

/*
 * One request to the service on 127.0.0.1:port: POST body when body is not
 * NULL, else GET; auth is a whole header line ("Authorization: Bearer ...")
 * or NULL. out (outlen bytes) gets the body, cut to fit. Returns the HTTP
 * status, 0 when there was no answer.
 */
long vg_test_http(int port, const char *path, const char *auth, const char *body, char *out, size_t outlen);
/* Enrolls endpoint id with the enrollment token; auth gets "Authorization: Bearer <credential>". 0 or -1. */
int vg_test_enroll(int port, const char *token, const char *id, char *auth, size_t len);

#endif
