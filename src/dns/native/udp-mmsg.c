/*
 * A UDP socket for the DNS server's hot path that moves datagrams in batches: one recvmmsg(2)
 * reads up to BATCH queries per wakeup, JS answers all of them in one call (writing the answers
 * into a shared arena), and one sendmmsg(2) sends the answers. Node's dgram does one recvmsg and
 * one sendmsg per datagram, plus a JS callback and a send request object each.
 *
 * JS side: src/dns/udp-batch.ts (which falls back to dgram when this addon is not built).
 * Shared memory, allocated by JS and kept alive by references held here:
 *   in    BATCH * SLOT bytes: query i at i * SLOT
 *   meta  Int32 x 4 per slot: [query length (-1: truncated, dropped), answer offset in out,
 *         answer length (-1: none), address family (4 or 6)]
 *   out   answers written by JS during the callback
 *   addr  ADDR bytes per slot: the peer's sockaddr (copied by JS to answer later with sendTo)
 * Everything here runs on the event loop thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 4096
#define ADDR ((int)sizeof(struct sockaddr_in6))
#define MAX_ROUNDS 16

typedef struct {
  napi_env env;
  int fd;
  uv_poll_t *poll;
  napi_ref cb, in_ref, meta_ref, out_ref, addr_ref, self;
  napi_async_context async;
  unsigned char *in, *out, *addr;
  int32_t *meta;
  size_t out_len;
  struct mmsghdr rmsgs[BATCH], smsgs[BATCH];
  struct iovec riov[BATCH], siov[BATCH];
  struct sockaddr_in6 names[BATCH];
  double dropped;
} ctx_t;

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "udp_mmsg: " #call " failed");                                   \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value msg, code, error, sc;
  char text[256];
  int uverr = uv_translate_sys_error(err);
  snprintf(text, sizeof text, "%s %s", syscall, uv_strerror(uverr));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, uv_err_name(uverr), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

static void *buffer_data(napi_env env, napi_value v, size_t *len) {
  void *data = NULL;
  if (napi_get_buffer_info(env, v, &data, len) != napi_ok) return NULL;
  return data;
}

static void send_batch(ctx_t *c, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    int32_t off = c->meta[i * 4 + 1], len = c->meta[i * 4 + 2];
    if (len < 0 || off < 0 || (size_t)off + (size_t)len > c->out_len) continue;
    c->siov[k].iov_base = c->out + off;
    c->siov[k].iov_len = (size_t)len;
    memset(&c->smsgs[k].msg_hdr, 0, sizeof c->smsgs[k].msg_hdr);
    c->smsgs[k].msg_hdr.msg_iov = &c->siov[k];
    c->smsgs[k].msg_hdr.msg_iovlen = 1;
    c->smsgs[k].msg_hdr.msg_name = &c->names[i];
    c->smsgs[k].msg_hdr.msg_namelen = c->rmsgs[i].msg_hdr.msg_namelen;
    k++;
  }
  int sent = 0;
  while (sent < k) {
    int r = sendmmsg(c->fd, c->smsgs + sent, (unsigned)(k - sent), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* Send buffer full (or the peer is unreachable): this datagram is lost, as UDP may be. */
      c->dropped++;
      sent++;
      continue;
    }
    sent += r;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  ctx_t *c = handle->data;
  napi_env env = c->env;
  if (status < 0 || c->fd < 0) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, self, arg;
  napi_get_reference_value(env, c->cb, &cb);
  napi_get_reference_value(env, c->self, &self);
  for (int round = 0; round < MAX_ROUNDS && c->fd >= 0; round++) {
    for (int i = 0; i < BATCH; i++) {
      c->riov[i].iov_base = c->in + (size_t)i * SLOT;
      c->riov[i].iov_len = SLOT;
      memset(&c->rmsgs[i].msg_hdr, 0, sizeof c->rmsgs[i].msg_hdr);
      c->rmsgs[i].msg_hdr.msg_iov = &c->riov[i];
      c->rmsgs[i].msg_hdr.msg_iovlen = 1;
      c->rmsgs[i].msg_hdr.msg_name = &c->names[i];
      c->rmsgs[i].msg_hdr.msg_namelen = sizeof c->names[i];
    }
    int n = recvmmsg(c->fd, c->rmsgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      int trunc = (c->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      c->meta[i * 4] = trunc ? -1 : (int32_t)c->rmsgs[i].msg_len;
      c->meta[i * 4 + 1] = -1;
      c->meta[i * 4 + 2] = -1;
      c->meta[i * 4 + 3] = c->names[i].sin6_family == AF_INET6 ? 6 : 4;
      memcpy(c->addr + (size_t)i * ADDR, &c->names[i], ADDR);
    }
    napi_create_int32(env, n, &arg);
    napi_value result;
    napi_status st = napi_make_callback(env, c->async, self, cb, 1, &arg, &result);
    if (st != napi_ok) {
      /* The handler threw: hand the exception to Node's uncaught-exception path, as a JS
       * callback from libuv would, and send nothing of this batch. */
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      break;
    }
    if (c->fd < 0) break;     /* closed from the callback */
    send_batch(c, n);
    if (n < BATCH) break;
  }
  napi_close_handle_scope(env, scope);
}

/* open(host, port, v6, bufferBytes, in, meta, out, addr, onBatch) -> { port } (the handle) */
static void finalize_ctx(napi_env env, void *data, void *hint) {
  ctx_t *c = data;
  if (c->fd < 0) free(c); /* an open socket is never collected: its ctx holds `self` strongly */
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) {
    napi_throw_type_error(env, NULL, "udp_mmsg.open: 9 arguments expected");
    return NULL;
  }
  char host[64];
  size_t hl;
  int32_t port, bufbytes;
  bool v6;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &v6));
  CHECK(napi_get_value_int32(env, argv[3], &bufbytes));
  size_t in_len, meta_len, out_len, addr_len;
  unsigned char *in = buffer_data(env, argv[4], &in_len);
  int32_t *meta = buffer_data(env, argv[5], &meta_len);
  unsigned char *out = buffer_data(env, argv[6], &out_len);
  unsigned char *addr = buffer_data(env, argv[7], &addr_len);
  if (!in || !meta || !out || !addr || in_len < (size_t)BATCH * SLOT || meta_len < BATCH * 16 ||
      addr_len < (size_t)BATCH * ADDR) {
    napi_throw_range_error(env, NULL, "udp_mmsg.open: shared buffers too small");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, EINVAL, "inet_pton");
    sl = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, EINVAL, "inet_pton");
    sl = sizeof *a;
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  if (bufbytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufbytes, sizeof bufbytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufbytes, sizeof bufbytes);
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  int bound_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                     : ((struct sockaddr_in *)&bound)->sin_port);

  ctx_t *c = calloc(1, sizeof *c);
  c->env = env;
  c->fd = fd;
  c->in = in;
  c->meta = meta;
  c->out = out;
  c->out_len = out_len;
  c->addr = addr;
  CHECK(napi_create_object(env, &self));
  CHECK(napi_create_reference(env, argv[4], 1, &c->in_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &c->meta_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &c->out_ref));
  CHECK(napi_create_reference(env, argv[7], 1, &c->addr_ref));
  CHECK(napi_create_reference(env, argv[8], 1, &c->cb));
  CHECK(napi_create_reference(env, self, 1, &c->self));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "k8ts:dns-udp-batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &c->async));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  c->poll = malloc(sizeof *c->poll);
  uv_poll_init(loop, c->poll, fd);
  c->poll->data = c;
  uv_poll_start(c->poll, UV_READABLE, on_readable);
  napi_value ext, p;
  CHECK(napi_create_external(env, c, finalize_ctx, NULL, &ext));
  CHECK(napi_set_named_property(env, self, "handle", ext));
  CHECK(napi_create_int32(env, bound_port, &p));
  CHECK(napi_set_named_property(env, self, "port", p));
  return self;
}

static ctx_t *ctx_of(napi_env env, napi_value obj) {
  napi_value ext;
  void *c = NULL;
  if (napi_get_named_property(env, obj, "handle", &ext) != napi_ok) return NULL;
  if (napi_get_value_external(env, ext, &c) != napi_ok) return NULL;
  return c;
}

/* sendTo(sock, buf, addr): one datagram now (answers that were not ready inside the batch). */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ctx_t *c = ctx_of(env, argv[0]);
  size_t len, alen;
  void *buf = buffer_data(env, argv[1], &len);
  void *addr = buffer_data(env, argv[2], &alen);
  if (!c || !buf || !addr || alen < (size_t)ADDR) {
    napi_throw_type_error(env, NULL, "udp_mmsg.sendTo: bad arguments");
    return NULL;
  }
  if (c->fd < 0) return NULL;
  const struct sockaddr_in6 *a = addr;
  socklen_t sl = a->sin6_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (sendto(c->fd, buf, len, MSG_DONTWAIT, addr, sl) < 0) c->dropped++;
  return NULL;
}

static void on_poll_closed(uv_handle_t *h) { free(h); }

/* close(sock): stop polling and close the socket (the shared buffers are released). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ctx_t *c = ctx_of(env, argv[0]);
  if (!c || c->fd < 0) return NULL;
  uv_poll_stop(c->poll);
  uv_close((uv_handle_t *)c->poll, on_poll_closed);
  close(c->fd);
  c->fd = -1;
  napi_delete_reference(env, c->in_ref);
  napi_delete_reference(env, c->meta_ref);
  napi_delete_reference(env, c->out_ref);
  napi_delete_reference(env, c->addr_ref);
  napi_delete_reference(env, c->cb);
  napi_delete_reference(env, c->self);
  napi_async_destroy(env, c->async);
  /* c itself stays (the external may still be reachable); it holds no resources now. */
  return NULL;
}

/* dropped(sock): datagrams the kernel refused to send (full buffer). */
static napi_value js_dropped(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ctx_t *c = ctx_of(env, argv[0]);
  CHECK(napi_create_double(env, c ? c->dropped : 0, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"dropped", NULL, js_dropped, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value v;
  napi_create_int32(env, BATCH, &v);
  napi_set_named_property(env, exports, "BATCH", v);
  napi_create_int32(env, SLOT, &v);
  napi_set_named_property(env, exports, "SLOT", v);
  napi_create_int32(env, ADDR, &v);
  napi_set_named_property(env, exports, "ADDR", v);
  return exports;
}
