/*
 * example.c - streams one ECG channel to the Vigil runtime through vigil_bridge and prints every
 * result it gets back. The samples are either synthesised (a periodic ECG-like waveform) or read as
 * whitespace-separated numbers (mV) from stdin.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -o example example.c vigil_bridge.c
 *   ./example --unix /run/vigil/bridge.sock --seconds 30
 *
 * Options:
 *   --unix PATH | --tcp HOST PORT   where the runtime listens
 *   --device ID        device id (default example-1)
 *   --seconds S        seconds of synthetic signal (default 10; ignored with --stdin)
 *   --rate HZ          sample rate (default 250)
 *   --frame N          samples per frame (default 50)
 *   --gain G           amplitude of the synthetic signal (default 1)
 *   --stdin            read samples from stdin instead of synthesising them
 *   --int16            send int16 samples with scale 0.001 mV instead of float32
 *   --lead-off-after S set the lead-off flag on every sample from second S on
 *   --realtime         pace the frames at the sample rate instead of sending as fast as credit allows
 *   --label            label the first result (ground truth 0) and print the outcome
 *   --idle-ms MS       after the last frame, wait until nothing arrives for this long (default 1500)
 * Exit status: 0 when at least one result arrived, 1 when none, 2 on errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil_bridge.h"

#define MAX_FRAME 4096

typedef struct {
  unsigned long results;
  unsigned long alerts;
  unsigned long errors;
  unsigned long fallbacks;
  char first_result[257];
} totals_t;

static const char *kind_name(vb_result_kind k) {
  switch (k) {
    case VB_RESULT_OK:
      return "ok";
    case VB_RESULT_INDETERMINATE:
      return "indeterminate";
    case VB_RESULT_FALLBACK:
      return "fallback";
  }
  return "?";
}

static void on_result(void *user, const vb_result *r) {
  totals_t *t = (totals_t *)user;
  if (t->results == 0) strcpy(t->first_result, r->result_id);
  t->results++;
  if (r->kind == VB_RESULT_FALLBACK) t->fallbacks++;
  printf("result seq=%" PRIu64 " id=%s window=%" PRIu64 " first=%" PRIu64 " last=%" PRIu64
         " kind=%s score=%.9g label=%s positive=%d alert=%d reason=%s output=%s bundle=%s\n",
         r->seq, r->result_id, r->window, r->first_counter, r->last_counter, kind_name(r->kind), r->score,
         r->label[0] ? r->label : "-", r->positive, r->alert, r->reason[0] ? r->reason : "-",
         r->output[0] ? r->output : "-", r->bundle_id);
  fflush(stdout);
}

static void on_alert(void *user, const vb_alert *a) {
  ((totals_t *)user)->alerts++;
  printf("alert seq=%" PRIu64 " id=%s label=%s source=%s\n", a->seq, a->result_id, a->label, a->source);
  fflush(stdout);
}

static void on_error(void *user, const vb_error *e) {
  ((totals_t *)user)->errors++;
  printf("error code=%s re=%" PRId64 " stream=%s fatal=%d message=%s\n", e->code, e->re, e->stream, e->fatal,
         e->message);
  fflush(stdout);
}

static void on_overload(void *user, const vb_overload *o) {
  (void)user;
  printf("overload reason=%s count=%" PRIu64 "\n", o->reason, o->count);
}

static void on_missed(void *user, const vb_missed *m) {
  (void)user;
  printf("missed stream=%s results=%" PRIu64 " alerts=%" PRIu64 "\n", m->stream, m->results, m->alerts);
}

/* A smooth bump on [-1, 1] (biweight kernel): keeps the example free of libm. */
static double bump(double x) {
  double u = 1.0 - x * x;
  return x <= -1.0 || x >= 1.0 ? 0.0 : u * u;
}

/* Deterministic noise in [-1, 1) from the sample counter (xorshift64*): real front ends are never
   exactly flat, and the runtime's quality gate rejects a signal that repeats one value (stuck sensor). */
static double noise(uint64_t counter) {
  uint64_t x = counter * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  x *= 0x2545F4914F6CDD1DULL;
  return (double)(x >> 11) / 4503599627370496.0 - 1.0; /* 2^52 */
}

/* P wave, QRS complex and T wave at 72 beats per minute, plus 10 uV of noise, in mV. */
static float ecg_sample(uint64_t counter, double rate_hz, double gain) {
  double period = 60.0 / 72.0;
  double t = (double)counter / rate_hz;
  double phase = (t - period * (double)(uint64_t)(t / period)) / period;
  double v = 0.12 * bump((phase - 0.20) / 0.05) - 0.15 * bump((phase - 0.37) / 0.015) +
             1.00 * bump((phase - 0.40) / 0.02) - 0.25 * bump((phase - 0.43) / 0.015) +
             0.30 * bump((phase - 0.70) / 0.08) + 0.01 * noise(counter);
  return (float)(gain * v);
}

static void sleep_ms(double ms) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ms / 1000.0);
  ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
  nanosleep(&ts, NULL);
}

static int16_t to_i16(float v, float scale) {
  double raw = (double)v / scale;
  if (raw > 32767.0) return 32767;
  if (raw < -32768.0) return -32768;
  return (int16_t)(raw < 0 ? raw - 0.5 : raw + 0.5);
}

static void usage(void) {
  fprintf(stderr, "usage: example (--unix PATH | --tcp HOST PORT) [--device ID] [--seconds S] [--rate HZ]\n"
                  "               [--frame N] [--gain G] [--stdin] [--int16] [--lead-off-after S]\n"
                  "               [--realtime] [--label] [--idle-ms MS]\n");
}

int main(int argc, char **argv) {
  const char *unix_path = NULL, *tcp_host = NULL, *device = "example-1";
  unsigned short tcp_port = 0;
  double seconds = 10.0, rate = 250.0, gain = 1.0, lead_off_after = -1.0;
  int frame = 50, from_stdin = 0, use_i16 = 0, realtime = 0, do_label = 0, idle_ms = 1500, i, rc;
  static float samples[MAX_FRAME];
  static int16_t raw[MAX_FRAME];
  static uint8_t flags[MAX_FRAME];
  const float scale = 0.001f;
  totals_t totals;
  vb_callbacks cb;
  vb_sensor_decl sensor;
  vb_hello hello;
  vb_client *client = NULL;
  uint64_t counter = 0, total;
  const double t0_ms = 1700000000000.0;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    int more = i + 1 < argc;
    if (strcmp(a, "--unix") == 0 && more) unix_path = argv[++i];
    else if (strcmp(a, "--tcp") == 0 && i + 2 < argc) {
      tcp_host = argv[++i];
      tcp_port = (unsigned short)atoi(argv[++i]);
    } else if (strcmp(a, "--device") == 0 && more) device = argv[++i];
    else if (strcmp(a, "--seconds") == 0 && more) seconds = atof(argv[++i]);
    else if (strcmp(a, "--rate") == 0 && more) rate = atof(argv[++i]);
    else if (strcmp(a, "--frame") == 0 && more) frame = atoi(argv[++i]);
    else if (strcmp(a, "--gain") == 0 && more) gain = atof(argv[++i]);
    else if (strcmp(a, "--lead-off-after") == 0 && more) lead_off_after = atof(argv[++i]);
    else if (strcmp(a, "--idle-ms") == 0 && more) idle_ms = atoi(argv[++i]);
    else if (strcmp(a, "--stdin") == 0) from_stdin = 1;
    else if (strcmp(a, "--int16") == 0) use_i16 = 1;
    else if (strcmp(a, "--realtime") == 0) realtime = 1;
    else if (strcmp(a, "--label") == 0) do_label = 1;
    else {
      usage();
      return 2;
    }
  }
  if ((!unix_path && !tcp_host) || frame < 1 || frame > MAX_FRAME || rate <= 0.0) {
    usage();
    return 2;
  }

  memset(&totals, 0, sizeof totals);
  memset(&cb, 0, sizeof cb);
  cb.on_result = on_result;
  cb.on_alert = on_alert;
  cb.on_error = on_error;
  cb.on_overload = on_overload;
  cb.on_missed = on_missed;
  cb.user = &totals;
  sensor.sensor = VB_SENSOR_ECG;
  sensor.rate_hz = rate;
  sensor.channels = 1;
  memset(&hello, 0, sizeof hello);
  hello.device = device;
  hello.firmware = "example-1.0";
  hello.sensors = &sensor;
  hello.sensor_count = 1;

  rc = unix_path ? vb_connect_unix(&client, unix_path, &hello, &cb)
                 : vb_connect_tcp(&client, tcp_host, tcp_port, &hello, &cb);
  if (rc != VB_OK) {
    fprintf(stderr, "connect: %s\n", vb_strerror(rc));
    return 2;
  }
  printf("connected resumed=%d credits=%ld\n", vb_resumed(client), vb_credits(client));

  rc = vb_open_stream(client, "ecg0", VB_SENSOR_ECG, rate, 1, NULL);
  if (rc != VB_OK) {
    const vb_error *e = vb_last_error(client);
    fprintf(stderr, "open: %s %s %s\n", vb_strerror(rc), rc == VB_ERR_REMOTE ? e->code : "",
            rc == VB_ERR_REMOTE ? e->message : "");
    vb_close(client);
    return 2;
  }

  total = from_stdin ? UINT64_MAX : (uint64_t)(seconds * rate + 0.5);
  while (counter < total) {
    int n = 0, k;
    long sent;
    const float *channels_f[1];
    const int16_t *channels_i[1];
    if (from_stdin) {
      while (n < frame && scanf("%f", &samples[n]) == 1) n++;
      if (n == 0) break;
    } else {
      uint64_t left = total - counter;
      n = left < (uint64_t)frame ? (int)left : frame;
      for (k = 0; k < n; k++) samples[k] = ecg_sample(counter + (uint64_t)k, rate, gain);
    }
    for (k = 0; k < n; k++) {
      double t = (double)(counter + (uint64_t)k) / rate;
      flags[k] = (lead_off_after >= 0.0 && t >= lead_off_after) ? VB_FLAG_LEAD_OFF : 0;
    }
    channels_f[0] = samples;
    channels_i[0] = raw;
    if (use_i16) {
      for (k = 0; k < n; k++) raw[k] = to_i16(samples[k], scale);
      sent = vb_send_i16(client, "ecg0", counter, t0_ms + (double)counter * 1000.0 / rate, rate, 1, (size_t)n,
                         channels_i, &scale, lead_off_after >= 0.0 ? flags : NULL);
    } else {
      sent = vb_send_f32(client, "ecg0", counter, t0_ms + (double)counter * 1000.0 / rate, rate, 1, (size_t)n,
                         channels_f, lead_off_after >= 0.0 ? flags : NULL);
    }
    if (sent < 0) {
      fprintf(stderr, "send: %s\n", vb_strerror((int)sent));
      vb_close(client);
      return 2;
    }
    counter += (uint64_t)n;
    if (realtime) sleep_ms(1000.0 * n / rate);
    vb_poll(client, 0);
  }
  printf("sent samples=%" PRIu64 "\n", counter);

  /* Results of the last windows are still on their way: wait until the line is quiet. */
  for (;;) {
    rc = vb_poll(client, idle_ms);
    if (rc <= 0) break;
  }

  if (do_label && totals.results > 0) {
    vb_label_outcome outcome;
    rc = vb_label(client, totals.first_result, 0, "ground-truth", &outcome);
    printf("label rc=%d outcome=%s\n", rc,
           outcome == VB_LABEL_ACCEPTED ? "accepted" : outcome == VB_LABEL_DUPLICATE ? "duplicate" : "unknown-result");
  }
  printf("summary results=%lu alerts=%lu fallbacks=%lu errors=%lu\n", totals.results, totals.alerts,
         totals.fallbacks, totals.errors);
  vb_close(client);
  return totals.results > 0 ? 0 : 1;
}
