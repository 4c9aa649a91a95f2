/*
 * vigil_bridge.h - a minimal C99 client of the Vigil firmware bridge (protocol version 1).
 *
 * libc and POSIX sockets only; no threads, no global state. One vb_client per connection; the API is
 * synchronous: requests (open, close, label, ping) block until their answer arrives, and
 * vb_send_f32 / vb_send_i16 block while the server has granted no credit. While blocking, and in
 * vb_poll, frames pushed by the runtime (results, alerts, errors, overload and missed notices) are
 * delivered to the callbacks given at connect time.
 *
 * The wire protocol is documented in docs/firmware-bridge.md (CDDL for every message).
 * Not thread-safe: call one client from one thread.
 */
#ifndef VIGIL_BRIDGE_H
#define VIGIL_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VB_PROTOCOL_VERSION 1

/* Return codes: 0 or positive on success, negative on failure. */
enum {
  VB_OK = 0,
  VB_ERR_ARG = -1,       /* an argument is out of range (e.g. an id with characters outside [A-Za-z0-9._-]) */
  VB_ERR_IO = -2,        /* socket error, or the server closed the connection */
  VB_ERR_PROTOCOL = -3,  /* the server sent a frame this client cannot read */
  VB_ERR_REMOTE = -4,    /* the server refused the request: see vb_last_error() */
  VB_ERR_TOO_LARGE = -5, /* the frame would exceed the server's maximum frame size */
  VB_ERR_TIMEOUT = -6,   /* no answer (or no credit) within the client's timeout */
  VB_ERR_NOMEM = -7,
  VB_ERR_CLOSED = -8     /* the connection is closed (after a fatal error frame or vb_close) */
};

typedef enum { VB_SENSOR_ACCEL = 0, VB_SENSOR_ECG = 1, VB_SENSOR_PPG = 2 } vb_sensor;

/* Sensor flag bits, one byte per sample (same values as the runtime's SENSOR_FLAG). */
#define VB_FLAG_LEAD_OFF 0x01u
#define VB_FLAG_SATURATED 0x02u
#define VB_FLAG_MOTION 0x04u

typedef struct {
  vb_sensor sensor;
  double rate_hz;
  unsigned channels;
} vb_sensor_decl;

typedef struct {
  const char *device;   /* [A-Za-z0-9._-]{1,64}; the same id on every reconnect resumes the session */
  const char *firmware; /* printable ASCII, 1..64 characters, no spaces */
  const vb_sensor_decl *sensors; /* may be NULL when sensor_count is 0 */
  size_t sensor_count;
  int timeout_ms;       /* for requests and credit waits; 0 means 10000 */
} vb_hello;

typedef enum { VB_RESULT_OK = 0, VB_RESULT_INDETERMINATE = 1, VB_RESULT_FALLBACK = 2 } vb_result_kind;

/* One window's result. Text fields are NUL-terminated copies. */
typedef struct {
  uint64_t seq;            /* per-device sequence over results and alerts */
  char result_id[257];     /* pass to vb_label() */
  char stream[65];
  uint64_t window;
  uint64_t first_counter;
  uint64_t last_counter;
  double start_ms;
  double end_ms;
  double latency_ms;       /* inside the runtime, from window complete to result */
  vb_result_kind kind;
  double score;            /* OK and INDETERMINATE; NaN for FALLBACK */
  char label[129];         /* OK: the model's label; FALLBACK with a rule output: the rule's label (manifest names: ≤ 128) */
  int positive;            /* OK, or FALLBACK with a rule output */
  int alert;               /* OK: post-processing raised an alert on this window */
  char reason[33];         /* INDETERMINATE: SCORE_BAND; FALLBACK: e.g. QUALITY_SENSOR_FLAG */
  char output[17];         /* FALLBACK: suppressed | quality-alert | rule */
  char bundle_id[129];     /* provenance: the approved bundle that produced the result */
  char model_version[129]; /* semantic version, ≤ 128 characters */
  char manifest_sha256[65]; /* provenance: SHA-256 of the signed manifest (hex) — what the audit trail names */
  char thresholds_version[65]; /* provenance: the thresholds policy version the decision used */
} vb_result;

typedef struct {
  uint64_t seq;
  char result_id[257];
  char stream[65];
  char model_family[65];
  char label[129];
  char source[17];         /* model | fallback-rule | quality */
  double at_ms;
} vb_alert;

typedef struct {
  char code[33];           /* e.g. OUT_OF_ORDER, RATE_MISMATCH (docs/firmware-bridge.md, "Error codes") */
  char message[257];
  int64_t re;              /* id of the request that failed, -1 when none */
  char stream[65];
  int fatal;               /* the server closes the connection after this error */
} vb_error;

typedef struct {
  char reason[17];         /* no-credit | results-dropped */
  uint64_t count;
  uint64_t frames_rejected;
  uint64_t results_dropped;
  uint64_t alerts_dropped;
} vb_overload;

typedef struct {
  char stream[65];
  uint64_t results;
  uint64_t alerts;
  int64_t first_window;    /* -1 when only alerts were missed */
  int64_t last_window;
} vb_missed;

typedef struct {
  void (*on_result)(void *user, const vb_result *result);
  void (*on_alert)(void *user, const vb_alert *alert);
  /* Errors that answer no pending request, e.g. a refused samples frame (re = its id). */
  void (*on_error)(void *user, const vb_error *error);
  void (*on_overload)(void *user, const vb_overload *overload);
  /* After a resume: one call per stream whose results were dropped while the device was away. */
  void (*on_missed)(void *user, const vb_missed *missed);
  void *user;
} vb_callbacks;

typedef enum { VB_LABEL_ACCEPTED = 0, VB_LABEL_UNKNOWN_RESULT = 1, VB_LABEL_DUPLICATE = 2 } vb_label_outcome;

typedef struct vb_client vb_client;

/* Connects, sends hello and waits for hello-ack. `callbacks` may be NULL; members may be NULL. */
int vb_connect_unix(vb_client **out, const char *path, const vb_hello *hello, const vb_callbacks *callbacks);
/* TCP on loopback (the server refuses other addresses). */
int vb_connect_tcp(vb_client **out, const char *host, unsigned short port, const vb_hello *hello,
                   const vb_callbacks *callbacks);

/* 1 when the server resumed this device's earlier session (its streams are still open). */
int vb_resumed(const vb_client *client);
/* Samples frames the client may send before waiting for credit. */
long vb_credits(const vb_client *client);

int vb_open_stream(vb_client *client, const char *stream, vb_sensor sensor, double rate_hz, unsigned channels,
                   const char *cohort /* NULL for none */);
int vb_close_stream(vb_client *client, const char *stream);

/*
 * Sends `count` samples of `channels` channels starting at sample counter `counter`. `data[c]` points
 * to channel c's samples; `flags` (NULL for none) holds one VB_FLAG_* byte per sample. Blocks while
 * no credit is available. Returns the frame's request id (> 0), or a negative code. A frame the
 * runtime refuses (e.g. OUT_OF_ORDER) is reported later through on_error with re = that id.
 */
long vb_send_f32(vb_client *client, const char *stream, uint64_t counter, double timestamp_ms, double rate_hz,
                 unsigned channels, size_t count, const float *const *data, const uint8_t *flags);
/* The same with int16 samples; physical value = raw * scale[c]. */
long vb_send_i16(vb_client *client, const char *stream, uint64_t counter, double timestamp_ms, double rate_hz,
                 unsigned channels, size_t count, const int16_t *const *data, const float *scale,
                 const uint8_t *flags);

/* Delayed ground truth or clinician feedback; source is "ground-truth" or "clinician". */
int vb_label(vb_client *client, const char *result_id, int value, const char *source,
             vb_label_outcome *outcome);
/* Round trip to the server. */
int vb_ping(vb_client *client);

/* Waits up to timeout_ms for frames and dispatches them. Returns the number of frames handled. */
int vb_poll(vb_client *client, int timeout_ms);

/* The last error frame that answered a request (valid after VB_ERR_REMOTE). */
const vb_error *vb_last_error(const vb_client *client);
const char *vb_strerror(int code);

/* Closes the connection and frees the client. */
void vb_close(vb_client *client);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_BRIDGE_H */
