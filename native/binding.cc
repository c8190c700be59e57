// N-API glue: JS values in, a struct jail_plan out, errors back as objects
// shaped like Node's fs errors ({ errno, syscall, step, path }; the errno's
// name, code, is added in src/native/binding.ts, wording and hints in
// src/native/apply.ts).
#include <napi.h>

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <pthread.h>
#include <unistd.h>
#include <uv.h>

extern "C" {
#include "ns.h"
#include "observe.h"
#include "peer.h"
#include "scan.h"
#include "supervisor.h"
#include "view.h"
}

namespace {

// A bad plan field is a TypeError that names it, as in
// "plan.landlock.paths[3].access must be a bigint or a number". Where it is
// comes as text, or (the many fields of a long list) as a Loc: put into
// words only for the message.
struct Loc {
  const std::string *list;
  uint32_t i;
  const char *field;  // ".path", or "" for the element itself
};
inline const std::string &Words(const std::string &s) { return s; }
inline std::string Words(const char *s) { return s; }
std::string Words(const Loc &l) { return *l.list + "[" + std::to_string(l.i) + "]" + l.field; }

template <typename W>
[[noreturn]] void Bad(Napi::Env env, const W &where, const char *what) {
  throw Napi::TypeError::New(env, Words(where) + " " + what);
}

std::string At(const std::string &where, uint32_t i) { return where + "[" + std::to_string(i) + "]"; }

template <typename W>
Napi::Object Obj(Napi::Value v, const W &where) {
  if (!v.IsObject() || v.IsArray()) Bad(v.Env(), where, "must be an object");
  return v.As<Napi::Object>();
}

template <typename W>
Napi::Array Arr(Napi::Value v, const W &where) {
  if (!v.IsArray()) Bad(v.Env(), where, "must be an array");
  return v.As<Napi::Array>();
}

template <typename W>
std::string Str(Napi::Value v, const W &where) {
  if (!v.IsString()) Bad(v.Env(), where, "must be a string");
  return v.As<Napi::String>().Utf8Value();
}

template <typename W>
bool Bool(Napi::Value v, const W &where) {
  if (!v.IsBoolean()) Bad(v.Env(), where, "must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

template <typename W>
double Integer(Napi::Value v, const W &where, double min, double max) {
  if (!v.IsNumber()) Bad(v.Env(), where, "must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max && d == std::floor(d)))
    Bad(v.Env(), where, ("must be an integer from " + std::to_string(static_cast<int64_t>(min)) + " to " +
                         std::to_string(static_cast<int64_t>(max))).c_str());
  return d;
}

template <typename W>
uint64_t U64(Napi::Value v, const W &where) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Bad(v.Env(), where, "must fit in 64 bits, unsigned");
    return x;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0 && d == std::floor(d))) Bad(v.Env(), where, "must be a non-negative integer");
    return static_cast<uint64_t>(d);
  }
  Bad(v.Env(), where, "must be a bigint or a number");
}

std::vector<std::string> Strings(Napi::Value v, const std::string &where) {
  Napi::Array a = Arr(v, where);
  std::vector<std::string> out;
  for (uint32_t i = 0, n = a.Length(); i < n; i++) out.push_back(Str(a.Get(i), Loc{&where, i, ""}));
  return out;
}

std::vector<char *> CStrings(std::vector<std::string> &v) {
  std::vector<char *> out;
  for (auto &s : v) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

// errno as Node's fs errors carry it (negative); src/native/binding.ts
// names it (code) with Node's own table.
Napi::Error ApplyError(Napi::Env env, const struct jail_error &e) {
  Napi::Error err = Napi::Error::New(env, std::string(e.syscall) + ": " + strerror(e.code));
  err.Set("errno", Napi::Number::New(env, -e.code));
  err.Set("syscall", e.syscall);
  err.Set("step", e.step);
  if (e.path) err.Set("path", e.path);
  return err;
}

// scanTreeStart(root, maxDepth): the same scan as scanTree (below) on a
// thread of its own, started early so that it runs while JavaScript does
// other work; scanTreeTake(root, maxDepth) waits for it and returns what
// scanTree would have (or throws what it would have thrown), or null when
// no scan of that root and depth was started. One at a time: a second start
// returns false. Before anything here forks, clones or execs, a scan still
// running is waited for (WaitBackground; spawnStart's thread, AwaitScans): no
// child may start while another thread of this process could hold malloc's
// lock, or a file descriptor the child would inherit.
//
// scanTreeVerifyStart is the same for a check of a scan made before
// (scan.c, jail_scan_verify): the thread is one of these, with `verify` set
// and the scan to check in s; scanTreeVerifyTake takes its verdict (rc).
// A scan started meanwhile drops a check not taken.
struct PendingScan {
  pthread_t thread;
  bool running;
  bool verify;
  std::string root;
  int depth;
  int rc;
  struct jail_scan s;
  struct jail_error e;
};
PendingScan *pending = nullptr;

// How many scans are still at work, for a thread other than JavaScript's
// (the spawn's, below) that must wait for them but not join or free one.
pthread_mutex_t scans_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t scans_done = PTHREAD_COND_INITIALIZER;
int scans_running = 0;

void *RunScan(void *arg) {
  PendingScan *p = static_cast<PendingScan *>(arg);
  p->rc = p->verify ? jail_scan_verify(p->root.c_str(), &p->s) : jail_scan_tree(p->root.c_str(), p->depth, -1, &p->s, &p->e);
  pthread_mutex_lock(&scans_lock);
  scans_running--;
  pthread_cond_broadcast(&scans_done);
  pthread_mutex_unlock(&scans_lock);
  return nullptr;
}

// WaitScan for another thread: until no scan is at work (its fds closed,
// malloc left); the scan stays JavaScript's to take.
void AwaitScans() {
  pthread_mutex_lock(&scans_lock);
  while (scans_running > 0) pthread_cond_wait(&scans_done, &scans_lock);
  pthread_mutex_unlock(&scans_lock);
}

// Waits for a scan still running; its result stays pending.
void WaitScan() {
  if (pending && pending->running) {
    pthread_join(pending->thread, nullptr);
    pending->running = false;
  }
}

// answersStart(ops, paths, nums): answers()'s questions (below) asked on a
// thread of their own, as soon as they are known (a stored plan's, read
// before the run is decoded and its command made ready: src/cli/fast.ts),
// while JavaScript goes on. answersTake(ops, paths, nums) waits for them
// and returns what answers() would have, or null when these are not the
// questions started (nothing is taken then) or none were. One at a time: a
// second start returns false. Unlike a scan, the spawn's thread does not
// wait for it: that would put the questions before the namespaces are
// made, where they were meant to go beside them. What a clone or a vfork
// copies meanwhile is harmless: the questions open descriptors only with
// O_CLOEXEC (opendir's too), fork nothing, and the command marks every
// descriptor it did not ask for close-on-exec before its own (jail.c,
// step_fds). Before anything else here clones or execs, the thread is
// waited for and what it found dropped (WaitBackground).
struct Questions {
  std::string ops;
  std::vector<std::string> paths;
  std::vector<size_t> nums;
};
struct PendingAnswers {
  pthread_t thread;
  Questions q;
  std::vector<std::string> out;
};
PendingAnswers *asking = nullptr;
std::string Answer(char op, const char *p, size_t num);

void *RunAnswers(void *arg) {
  PendingAnswers *a = static_cast<PendingAnswers *>(arg);
  for (size_t i = 0; i < a->q.ops.size(); i++) a->out[i] = Answer(a->q.ops[i], a->q.paths[i].c_str(), a->q.nums[i]);
  return nullptr;
}

// Before a clone or an exec: no thread of ours at work (a scan's result
// stays to be taken; early answers are dropped).
void WaitBackground() {
  WaitScan();
  if (asking) {
    pthread_join(asking->thread, nullptr);
    delete asking;
    asking = nullptr;
  }
}

Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  struct jail_facts p;
  struct utsname u;
  jail_probe(&p);
  Napi::Object o = Napi::Object::New(env);
  if (uname(&u) == 0) {
    o.Set("machine", u.machine);
    o.Set("release", u.release);
  }
  o.Set("landlockAbi", p.landlock_abi);
  o.Set("landlockErrata", p.landlock_errata);
  o.Set("landlockErrno", -p.landlock_errno); /* 0 when Landlock is there */
  o.Set("seccomp", p.seccomp != 0);
  o.Set("noNewPrivs", p.no_new_privs != 0);
  // probe(false): the namespace layer is not tried here (a run that tries it
  // for real, and falls back when it is refused, saves the attempt).
  if (info.Length() > 0 && info[0].IsBoolean() && !info[0].As<Napi::Boolean>().Value()) return o;
  struct jail_ns_facts ns;
  WaitBackground();  // it clones
  jail_probe_namespaces(&ns);
  Napi::Object n = Napi::Object::New(env);
  n.Set("ok", ns.ok != 0);
  n.Set("errno", -ns.code); /* 0 when they can be made */
  n.Set("step", ns.step ? Napi::Value(Napi::String::New(env, ns.step)) : env.Null());
  o.Set("namespaces", n);
  return o;
}

// A plan from JS, with the storage its C pointers point into.
struct Plan {
  struct jail_plan c;
  struct jail_namespaces ns;
  std::deque<std::string> strings;  // a deque: adding one moves no other
  std::vector<jail_view_entry> view;
  std::vector<jail_socket> sockets;
  std::vector<std::string> paths;
  std::vector<jail_path_rule> pathRules;
  std::vector<jail_port_rule> portRules;
  std::vector<uint8_t> filter;
  struct jail_observer observer;
  std::vector<uint8_t> observerFilter;
  std::vector<jail_observe_call> observeCalls;
  std::vector<int> keep;
  std::string file;
  std::vector<std::string> argv, envp;
  std::vector<char *> cargv, cenvp;
};

void ParseLandlock(Napi::Object l, Plan &p) {
  const std::string w = "plan.landlock";
  p.c.has_landlock = 1;
  p.c.attr.handled_access_fs = U64(l.Get("handledFs"), w + ".handledFs");
  p.c.attr.handled_access_net = U64(l.Get("handledNet"), w + ".handledNet");
  p.c.attr.scoped = U64(l.Get("scoped"), w + ".scoped");
  p.c.attr_size = static_cast<size_t>(U64(l.Get("attrSize"), w + ".attrSize"));
  if (p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V1 && p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V4 &&
      p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V6)
    Bad(l.Env(), w + ".attrSize", "must be 8, 16 or 24");
  p.c.restrict_flags = static_cast<uint32_t>(Integer(l.Get("restrictFlags"), w + ".restrictFlags", 0, UINT32_MAX));
  Napi::Array pa = Arr(l.Get("paths"), w + ".paths");
  for (uint32_t i = 0; i < pa.Length(); i++) {
    const std::string at = At(w + ".paths", i);
    Napi::Object r = Obj(pa.Get(i), at);
    p.paths.push_back(Str(r.Get("path"), at + ".path"));
    struct jail_path_rule rule = {nullptr, U64(r.Get("access"), at + ".access"), 0, 0, 0, 0};
    Napi::Value dev = r.Get("dev"), ino = r.Get("ino"), optional = r.Get("optional");
    if (!dev.IsUndefined() || !ino.IsUndefined()) {
      rule.has_identity = 1;
      rule.dev = U64(dev, at + ".dev");
      rule.ino = U64(ino, at + ".ino");
    }
    rule.optional = !optional.IsUndefined() && Bool(optional, at + ".optional") ? 1 : 0;
    p.pathRules.push_back(rule);
  }
  for (size_t i = 0; i < p.paths.size(); i++) p.pathRules[i].path = p.paths[i].c_str();
  Napi::Array na = Arr(l.Get("ports"), w + ".ports");
  for (uint32_t i = 0; i < na.Length(); i++) {
    const std::string at = At(w + ".ports", i);
    Napi::Object r = Obj(na.Get(i), at);
    p.portRules.push_back({U64(r.Get("port"), at + ".port"), U64(r.Get("access"), at + ".access")});
  }
  p.c.paths = p.pathRules.data();
  p.c.n_paths = p.pathRules.size();
  p.c.ports = p.portRules.data();
  p.c.n_ports = p.portRules.size();
}

const char *Keep(Plan &p, const std::string &s) {
  p.strings.push_back(s);
  return p.strings.back().c_str();
}

template <typename W>
std::string AbsPath(Napi::Value v, const W &where) {
  std::string s = Str(v, where);
  if (s.empty() || s[0] != '/') Bad(v.Env(), where, "must be an absolute path");
  return s;
}

// plan.namespaces.sockets: bound (TCP: listening) in the jail's network
// namespace by its init, for this process. Without net they would be the
// host's, which is not what they are for.
void ParseSockets(Napi::Array sa, Plan &p) {
  const std::string w = "plan.namespaces.sockets";
  if (sa.Length() > 0 && !p.ns.net) Bad(sa.Env(), w, "needs net: the sockets are made in the jail's own network namespace");
  if (sa.Length() > JAIL_MAX_SOCKETS) Bad(sa.Env(), w, ("must hold at most " + std::to_string(JAIL_MAX_SOCKETS)).c_str());
  for (uint32_t i = 0; i < sa.Length(); i++) {
    const std::string at = At(w, i);
    Napi::Object o = Obj(sa.Get(i), at);
    struct jail_socket s;
    std::memset(&s, 0, sizeof(s));
    std::string type = Str(o.Get("type"), at + ".type");
    if (type != "tcp" && type != "udp") Bad(o.Env(), at + ".type", "must be tcp or udp");
    s.type = type == "tcp" ? SOCK_STREAM : SOCK_DGRAM;
    std::string addr = Str(o.Get("addr"), at + ".addr");
    s.family = inet_pton(AF_INET, addr.c_str(), s.addr) == 1 ? AF_INET : inet_pton(AF_INET6, addr.c_str(), s.addr) == 1 ? AF_INET6 : 0;
    if (!s.family) Bad(o.Env(), at + ".addr", "must be an IPv4 or IPv6 address");
    s.port = static_cast<uint16_t>(Integer(o.Get("port"), at + ".port", 1, 65535));
    const std::string host = s.family == AF_INET6 ? "[" + addr + "]" : addr;
    s.name = Keep(p, type + " " + host + ":" + std::to_string(s.port));
    p.sockets.push_back(s);
  }
  p.ns.sockets = p.sockets.data();
  p.ns.n_sockets = p.sockets.size();
}

// The digits of a decimal number at s, which moves past them; false if
// there are none, or too many for 64 bits.
bool Decimal(const char *&s, uint64_t &out) {
  const char *start = s;
  out = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (out > (UINT64_MAX - static_cast<uint64_t>(*s - '0')) / 10) return false;
    out = out * 10 + static_cast<uint64_t>(*s - '0');
  }
  return s > start;
}

// A 'rules' entry of the view (apply.ts, compactRules): "ACCESS INODE NAME"
// per rule, joined by NULs, each the rule at path/NAME on device dev, as a
// 'rule' entry with that identity would be.
template <typename At>
void ParseRules(Napi::Object e, const At &at, Plan &p) {
  std::string dir = AbsPath(e.Get("path"), at(".path"));
  uint64_t dev = U64(e.Get("dev"), at(".dev"));
  std::string text = Str(e.Get("rules"), at(".rules"));
  if (dir.size() < 2 || dir.back() == '/') Bad(e.Env(), at(".path"), "must be a directory other than /, without a trailing slash");
  for (size_t from = 0; from <= text.size();) {
    size_t to = text.find('\0', from);
    if (to == std::string::npos) to = text.size();
    std::string one = text.substr(from, to - from);
    const char *c = one.c_str();
    struct jail_view_entry v;
    std::memset(&v, 0, sizeof(v));
    bool ok = Decimal(c, v.access) && *c++ == ' ' && Decimal(c, v.ino) && *c++ == ' ' && *c != '\0';
    std::string name = ok ? std::string(c) : "";
    if (!ok || name.find('/') != std::string::npos || name == "." || name == "..")
      Bad(e.Env(), at(".rules"), "must be \"ACCESS INODE NAME\" entries joined by NULs, each NAME one in the directory");
    v.kind = JAIL_VIEW_RULE;
    v.path = Keep(p, dir + "/" + name);
    v.has_identity = 1;
    v.dev = dev;
    p.view.push_back(v);
    from = to + 1;
  }
}

// plan.namespaces: the namespace layer, its view in plan order.
void ParseNamespaces(Napi::Object n, Plan &p) {
  const std::string w = "plan.namespaces";
  std::memset(&p.ns, 0, sizeof(p.ns));
  p.ns.uid = static_cast<uint32_t>(Integer(n.Get("uid"), w + ".uid", 0, UINT32_MAX - 1));
  p.ns.gid = static_cast<uint32_t>(Integer(n.Get("gid"), w + ".gid", 0, UINT32_MAX - 1));
  p.ns.net = Bool(n.Get("net"), w + ".net") ? 1 : 0;
  p.ns.cwd = Keep(p, AbsPath(n.Get("cwd"), w + ".cwd"));
  static const struct { const char *name; enum jail_view_kind kind; } kinds[] = {
      {"bind", JAIL_VIEW_BIND}, {"dir", JAIL_VIEW_DIR},       {"symlink", JAIL_VIEW_SYMLINK},
      {"proc", JAIL_VIEW_PROC}, {"devpts", JAIL_VIEW_DEVPTS}, {"tmpfs", JAIL_VIEW_TMPFS},
      {"rule", JAIL_VIEW_RULE}, {"empty", JAIL_VIEW_EMPTY},
      {"overlay", JAIL_VIEW_OVERLAY},
  };
  // The view of a root's run holds a rule per entry of /etc, a few hundred
  // objects: their keys are made once, and a field's place is put into
  // words only for a message.
  struct {
    Napi::String kind, path, source, dev, ino, device, readOnly, access, target, layer, isDir;
  } key = {Napi::String::New(n.Env(), "kind"),   Napi::String::New(n.Env(), "path"),   Napi::String::New(n.Env(), "source"),
           Napi::String::New(n.Env(), "dev"),    Napi::String::New(n.Env(), "ino"),    Napi::String::New(n.Env(), "device"),
           Napi::String::New(n.Env(), "readOnly"), Napi::String::New(n.Env(), "access"), Napi::String::New(n.Env(), "target"),
           Napi::String::New(n.Env(), "layer"),  Napi::String::New(n.Env(), "isDir")};
  const std::string wv = w + ".view";
  Napi::Array va = Arr(n.Get("view"), wv);
  for (uint32_t i = 0, count = va.Length(); i < count; i++) {
    const auto at = [&](const char *field) { return Loc{&wv, i, field}; };
    Napi::Object e = Obj(va.Get(i), at(""));
    std::string kind = Str(e.Get(key.kind), at(".kind"));
    if (kind == "rules") {
      ParseRules(e, at, p);
      continue;
    }
    struct jail_view_entry v;
    std::memset(&v, 0, sizeof(v));
    size_t k = 0;
    while (k < sizeof(kinds) / sizeof(kinds[0]) && kind != kinds[k].name) k++;
    if (k == sizeof(kinds) / sizeof(kinds[0]))
      Bad(e.Env(), at(".kind"), "must be one of bind, dir, symlink, proc, devpts, tmpfs, rule, rules, empty, overlay");
    v.kind = kinds[k].kind;
    v.path = Keep(p, AbsPath(e.Get(key.path), at(".path")));
    switch (v.kind) {
      case JAIL_VIEW_BIND:
      case JAIL_VIEW_RULE: {
        Napi::Value src = e.Get(key.source), dev = e.Get(key.dev), ino = e.Get(key.ino);
        if (!src.IsUndefined()) v.source = Keep(p, AbsPath(src, at(".source")));
        if (!dev.IsUndefined() || !ino.IsUndefined()) {
          v.has_identity = 1;
          v.dev = U64(dev, at(".dev"));
          v.ino = U64(ino, at(".ino"));
        }
        if (v.kind == JAIL_VIEW_BIND) {
          Napi::Value device = e.Get(key.device);
          v.read_only = Bool(e.Get(key.readOnly), at(".readOnly")) ? 1 : 0;
          v.device = !device.IsUndefined() && Bool(device, at(".device")) ? 1 : 0;
        }
        v.access = U64(e.Get(key.access), at(".access"));
        break;
      }
      case JAIL_VIEW_SYMLINK:
        v.target = Keep(p, Str(e.Get(key.target), at(".target")));
        break;
      case JAIL_VIEW_OVERLAY: {
        Napi::Value dev = e.Get(key.dev), ino = e.Get(key.ino);
        v.target = Keep(p, AbsPath(e.Get(key.layer), at(".layer")));
        if (!dev.IsUndefined() || !ino.IsUndefined()) {
          v.has_identity = 1;
          v.dev = U64(dev, at(".dev"));
          v.ino = U64(ino, at(".ino"));
        }
        v.access = U64(e.Get(key.access), at(".access"));
        break;
      }
      case JAIL_VIEW_PROC:
      case JAIL_VIEW_DEVPTS:
      case JAIL_VIEW_TMPFS:
        v.access = U64(e.Get(key.access), at(".access"));
        break;
      case JAIL_VIEW_EMPTY: {
        Napi::Value dev = e.Get(key.dev), ino = e.Get(key.ino);
        v.is_dir = Bool(e.Get(key.isDir), at(".isDir")) ? 1 : 0;
        if (!dev.IsUndefined() || !ino.IsUndefined()) {
          v.has_identity = 1;
          v.dev = U64(dev, at(".dev"));
          v.ino = U64(ino, at(".ino"));
        }
        v.access = U64(e.Get(key.access), at(".access"));
        break;
      }
      case JAIL_VIEW_DIR: {
        Napi::Value access = e.Get(key.access);
        if (!access.IsUndefined()) v.access = U64(access, at(".access"));
        break;
      }
      default:
        break;
    }
    p.view.push_back(v);
  }
  p.ns.view = p.view.data();
  p.ns.n_view = p.view.size();
  Napi::Value sv = n.Get("sockets");
  if (!sv.IsUndefined()) ParseSockets(Arr(sv, w + ".sockets"), p);
  p.c.ns = &p.ns;
}

// plan.observer (--report-denials): the observer's filter and, per syscall
// it notifies, which arguments to read (observe.h).
void ParseObserver(Napi::Object o, Plan &p) {
  const std::string w = "plan.observer";
  Napi::Value fv = o.Get("filter");
  if (!fv.IsTypedArray() || fv.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) Bad(o.Env(), w + ".filter", "must be a Uint8Array");
  Napi::Uint8Array f = fv.As<Napi::Uint8Array>();
  p.observerFilter.assign(f.Data(), f.Data() + f.ByteLength());
  if (p.observerFilter.empty() || p.observerFilter.size() % 8 != 0 || p.observerFilter.size() / 8 > 4096)
    Bad(o.Env(), w + ".filter", "must hold 1 to 4096 instructions of 8 bytes");
  Napi::Array ca = Arr(o.Get("calls"), w + ".calls");
  if (ca.Length() > JAIL_OBSERVE_MAX_SYSCALLS) Bad(o.Env(), w + ".calls", ("must hold at most " + std::to_string(JAIL_OBSERVE_MAX_SYSCALLS)).c_str());
  for (uint32_t i = 0; i < ca.Length(); i++) {
    const std::string at = At(w + ".calls", i);
    Napi::Object c = Obj(ca.Get(i), at);
    struct jail_observe_call call;
    std::memset(&call, 0, sizeof(call));
    call.nr = static_cast<int>(Integer(c.Get("nr"), at + ".nr", 0, INT32_MAX));
    Napi::Array pa = Arr(c.Get("paths"), at + ".paths");
    if (pa.Length() > 2) Bad(o.Env(), at + ".paths", "must hold at most 2 [dirfd, path] pairs");
    for (uint32_t k = 0; k < 2; k++) {
      call.path[k] = call.dirfd[k] = -1;
      if (k >= pa.Length()) continue;
      const std::string pw = At(at + ".paths", k);
      Napi::Array pair = Arr(pa.Get(k), pw);
      call.dirfd[k] = static_cast<int8_t>(Integer(pair.Get(0u), pw + "[0]", -1, 5));
      call.path[k] = static_cast<int8_t>(Integer(pair.Get(1u), pw + "[1]", 0, 5));
    }
    Napi::Value d = c.Get("deref");
    call.deref = d.IsUndefined() ? -1 : static_cast<int8_t>(Integer(d, at + ".deref", 0, 5));
    p.observeCalls.push_back(call);
  }
  p.observer.filter = p.observerFilter.data();
  p.observer.filter_len = p.observerFilter.size();
  p.observer.calls = p.observeCalls.data();
  p.observer.n_calls = p.observeCalls.size();
  p.observer.sock = -1;
  p.c.observer = &p.observer;
}

void ParsePlan(Napi::Value v, Plan &p) {
  Napi::Env env = v.Env();
  Napi::Object o = Obj(v, "plan");
  std::memset(&p.c, 0, sizeof(p.c));
  p.c.ruleset_fd = -1;
  p.c.go_fd = -1;
  p.c.view_gate_fd = -1;
  p.c.rules_fd = -1;

  Napi::Value ll = o.Get("landlock");
  if (!ll.IsUndefined()) ParseLandlock(Obj(ll, "plan.landlock"), p);

  Napi::Value ns = o.Get("namespaces");
  if (!ns.IsUndefined()) ParseNamespaces(Obj(ns, "plan.namespaces"), p);

  Napi::Value sc = o.Get("seccomp");
  if (!sc.IsUndefined()) {
    if (!sc.IsTypedArray() || sc.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      Bad(env, "plan.seccomp", "must be a Uint8Array");
    Napi::Uint8Array b = sc.As<Napi::Uint8Array>();
    p.filter.assign(b.Data(), b.Data() + b.ByteLength());
    p.c.filter = p.filter.data();
    p.c.filter_len = p.filter.size();
  }

  Napi::Value ob = o.Get("observer");
  if (!ob.IsUndefined()) ParseObserver(Obj(ob, "plan.observer"), p);

  p.c.drop_caps = Bool(o.Get("dropCaps"), "plan.dropCaps") ? 1 : 0;
  Napi::Array kf = Arr(o.Get("keepFds"), "plan.keepFds");
  for (uint32_t i = 0; i < kf.Length(); i++)
    p.keep.push_back(static_cast<int>(Integer(kf.Get(i), At("plan.keepFds", i), 0, INT32_MAX)));
  p.c.keep_fds = p.keep.data();
  p.c.n_keep_fds = p.keep.size();

  p.file = Str(o.Get("file"), "plan.file");
  p.argv = Strings(o.Get("argv"), "plan.argv");
  p.envp = Strings(o.Get("envp"), "plan.envp");
  p.cargv = CStrings(p.argv);
  p.cenvp = CStrings(p.envp);
  p.c.file = p.file.c_str();
  p.c.argv = p.cargv.data();
  p.c.envp = p.cenvp.data();
}

// exec(plan): confine the calling thread and execve. Returns only by
// throwing: a failed step leaves this process partly confined, and the
// caller must exit rather than carry on.
Napi::Value Exec(const Napi::CallbackInfo &info) {
  Plan p;
  if (info.Length() != 1) throw Napi::TypeError::New(info.Env(), "takes one plan object");
  ParsePlan(info[0], p);
  // The layer needs an init outside the command, and a multithreaded
  // process (Node) cannot enter a new user namespace itself.
  if (p.c.ns) Bad(info.Env(), "plan.namespaces", "needs spawn(): exec() replaces this process and has no init");
  if (p.c.observer) Bad(info.Env(), "plan.observer", "needs spawn(): its listener goes to a supervisor");
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  WaitBackground();
  if (jail_prepare(&p.c, &e) == 0) jail_enter(&p.c, &e);
  jail_release(&p.c);
  throw ApplyError(info.Env(), e);
}

// spawn(plan): fork a child that confines itself and execs (and dies with
// this process); returns { pid, fds } once the exec happened, or throws
// what failed in the child, or EBUSY when this process has children
// already (or one still supervised). With plan.namespaces the child is the
// jail's init and the pid is its own; supervise(pid) still returns the
// command's status. fds: this process's copies of plan.namespaces.sockets,
// in their order (O_CLOEXEC), the caller's to close.
// What spawn() returns: { pid, fds }.
Napi::Object Spawned(Napi::Env env, int pid, const std::vector<int> &fds) {
  Napi::Array a = Napi::Array::New(env, fds.size());
  for (uint32_t i = 0; i < fds.size(); i++) a.Set(i, fds[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", pid);
  o.Set("fds", a);
  return o;
}

Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Plan p;
  if (info.Length() != 1) throw Napi::TypeError::New(env, "takes one plan object");
  ParsePlan(info[0], p);
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  std::vector<int> fds(p.sockets.size(), -1);
  WaitBackground();
  int pid = jail_prepare(&p.c, &e) == 0 ? jail_spawn(&p.c, fds.data(), &e) : -1;
  jail_release(&p.c);
  if (pid < 0) throw ApplyError(env, e);
  return Spawned(env, pid, fds);
}

// A wait status as child_process gives it: { code, signal } (a number).
Napi::Object Status(Napi::Env env, int status) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", WIFEXITED(status) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(status))) : env.Null());
  o.Set("signal", WIFSIGNALED(status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(status))) : env.Null());
  return o;
}

// supervise(pid): wait for the child, passing on signals sent to us, then
// kill and reap whatever it left running. Returns the child's own
// { code, signal } as child_process does (signal as a number).
Napi::Value Supervise(const Napi::CallbackInfo &info) {
  return Status(info.Env(), jail_supervise(static_cast<int>(Integer(info[0], "pid", 1, INT32_MAX))));
}

// superviseAsync(pid, callback): supervise() on a thread of libuv's pool;
// callback(null, { code, signal }) on this one. jail_supervise is sound
// off the main thread: waitid and waitpid wait for children of the whole
// thread group; the parent-death signals (the init's, the command's) are
// tied to the thread that made the child, and spawn() runs on the main
// thread, which ends only with the process; the forwarding handlers and
// the subreaper flag belong to the process, not to a thread; the reap
// waits for a handler running on another thread (supervisor.c); and
// spawn() refuses (EBUSY) until this is done. Caveats: it holds one of the
// pool's threads (4 unless UV_THREADPOOL_SIZE) while the command runs,
// which fs, dns and zlib calls then share; and spawn() from a worker_threads
// Worker ties the parent-death signal to that Worker's thread.
class SuperviseWorker : public Napi::AsyncWorker {
 public:
  SuperviseWorker(Napi::Function callback, int pid) : Napi::AsyncWorker(callback, "jail.supervise"), pid_(pid) {}
  void Execute() override { status_ = jail_supervise(pid_); }
  void OnOK() override { Callback().Call({Env().Null(), Status(Env(), status_)}); }

 private:
  int pid_;
  int status_ = 0;
};

Napi::Value SuperviseAsync(const Napi::CallbackInfo &info) {
  int pid = static_cast<int>(Integer(info[0], "pid", 1, INT32_MAX));
  if (!info[1].IsFunction()) Bad(info.Env(), "callback", "must be a function");
  (new SuperviseWorker(info[1].As<Napi::Function>(), pid))->Queue();
  return info.Env().Undefined();
}

// takeObserved(): what the observer recorded since the last take, as
// { calls, dropped }: per call { nr, pid, args, path, base, path2, base2 }
// (args: the low 32 bits of each, signed, as int and flags arguments are;
// openat2's how.flags in place of its pointer), and how many calls were
// let through unrecorded, past the bounds.
Napi::Value TakeObserved(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t bytes = 0, n = 0;
  uint64_t dropped = 0;
  char *buf = jail_observe_take(&bytes, &n, &dropped);
  Napi::Array calls = Napi::Array::New(env, n);
  static const char *names[4] = {"path", "base", "path2", "base2"};
  size_t at = 0;
  for (uint32_t i = 0; i < n && at + sizeof(jail_observed) <= bytes; i++) {
    struct jail_observed h;
    std::memcpy(&h, buf + at, sizeof(h));
    Napi::Object c = Napi::Object::New(env);
    c.Set("nr", h.nr);
    c.Set("pid", h.pid);
    Napi::Array args = Napi::Array::New(env, 6);
    for (uint32_t k = 0; k < 6; k++) args.Set(k, static_cast<int32_t>(static_cast<uint32_t>(h.args[k])));
    c.Set("args", args);
    size_t s = at + sizeof(h);
    for (int k = 0; k < 4; k++) {
      c.Set(names[k], Napi::String::New(env, buf + s, h.len[k]));
      s += h.len[k];
    }
    calls.Set(i, c);
    at = (s + 7) & ~static_cast<size_t>(7);
  }
  free(buf);
  Napi::Object o = Napi::Object::New(env);
  o.Set("calls", calls);
  o.Set("dropped", static_cast<double>(dropped));
  return o;
}

// spawnStart(plan, gated) and spawnFinish(go): spawn() in two halves, so
// that JavaScript can go on (checking that a stored plan still holds)
// while a thread of its own makes the command ready: the namespaces, the
// view, the command's process, confined, which then waits before its
// exec. gated: the view is not built (nor, in the Landlock-only layer, a
// rule's path opened) until spawnView(), so that the caller can make the
// private TMPDIR while the namespaces are made. spawnFinish(true) lets it
// run and returns what spawn() does, or throws what spawn() would;
// spawnFinish(false) ends it having run nothing and returns the signals
// that came meanwhile (bit n: signal n), which the caller owes the user.
// One at a time, and nothing else may clone or exec in between.
//
// With a view that holds rule entries (root's /etc, entry by entry) the
// caller adds them itself, spawnRules(), while the init builds the rest
// of the view and starts the command, which waits for them before it is
// confined (plan.c.rules_fd).
//
// The thread that starts the command's process stays until this process
// ends: the kernel's "die with the supervisor" (PR_SET_PDEATHSIG) is tied
// to the thread that made the child, not to the process.
struct PendingSpawn {
  Plan plan;  // what the thread's children read until the exec
  std::vector<int> fds;
  struct jail_error e;
  int pid = -1;
  int go[2] = {-1, -1};  // the command reads go[0] (plan.c.go_fd); we write go[1]
  int gate[2] = {-1, -1};  // the same for plan.c.view_gate_fd (gated)
  int rules[2] = {-1, -1};  // the same for plan.c.rules_fd (spawnRules)
  int ruleset = -1;  // the thread's copy of the plan's ruleset, for spawnRules
  int ruleset_errno = 0;  // why there is no copy of one the plan has
  pthread_t thread;
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
  bool prepared = false;  // jail_prepare has returned: ruleset is set
  bool prepare_failed = false;
  bool done = false;
};
PendingSpawn *starting = nullptr;

void *RunSpawn(void *arg) {
  PendingSpawn *s = static_cast<PendingSpawn *>(arg);
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);  // jail_spawn's handlers run on other threads
  AwaitScans();  // here, not in spawnStart: JavaScript goes on meanwhile
  int ok = jail_prepare(&s->plan.c, &s->e) == 0;
  // A copy of the ruleset's fd for spawnRules: the command closes the
  // plan's (in this memory) once it is confined.
  pthread_mutex_lock(&s->lock);
  if (ok && s->plan.c.rules_fd >= 0 && s->plan.c.ruleset_fd >= 0 &&
      (s->ruleset = fcntl(s->plan.c.ruleset_fd, F_DUPFD_CLOEXEC, 0)) < 0)
    s->ruleset_errno = errno;
  s->prepare_failed = !ok;
  s->prepared = true;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  int pid = ok ? jail_spawn(&s->plan.c, s->fds.data(), &s->e) : -1;
  jail_release(&s->plan.c);
  pthread_mutex_lock(&s->lock);
  s->pid = pid;
  s->done = true;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  if (pid > 0)
    for (;;) pause();  // every signal blocked: until the process ends
  return nullptr;
}

void ClosePipes(PendingSpawn *s) {
  for (int fd : {s->go[0], s->go[1], s->gate[0], s->gate[1], s->rules[0], s->rules[1], s->ruleset})
    if (fd >= 0) close(fd);
}

// One byte to a gate of the pending spawn's; its end is closed after, so
// that each is said once.
void Say(int &fd, char byte) {
  if (fd < 0) return;
  while (write(fd, &byte, 1) < 0 && errno == EINTR)
    ;
  close(fd);
  fd = -1;
}

Napi::Value SpawnView(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!starting || starting->gate[1] < 0) Bad(env, "spawnView", "has no gated spawnStart waiting for it");
  Say(starting->gate[1], 'v');
  return env.Undefined();
}

// spawnRules(): the view's rule entries added to the pending spawn's
// ruleset, each opened as the init would open it (no symlink, the plan's
// identity); true once the init is told, false when there are none to
// add. What fails is thrown, and the init told to end having run nothing.
Napi::Value SpawnRules(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!starting) Bad(env, "spawnRules", "has no spawnStart waiting for it");
  PendingSpawn *s = starting;
  if (s->rules[1] < 0) return Napi::Boolean::New(env, false);
  pthread_mutex_lock(&s->lock);
  while (!s->prepared) pthread_cond_wait(&s->cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  // jail_prepare failed: spawnFinish says how. No ruleset (no Landlock
  // asked for): nothing to add.
  int added = !s->prepare_failed;
  if (added && s->ruleset_errno) {
    e = {"view", "fcntl", s->ruleset_errno, nullptr};
    added = 0;
  }
  if (added && s->ruleset >= 0) added = jail_view_rules(s->plan.c.ns, s->ruleset, &e) == 0;
  if (s->ruleset >= 0) close(s->ruleset);
  s->ruleset = -1;
  Say(s->rules[1], added ? 'r' : 'x');
  if (!added && e.step) throw ApplyError(env, e);
  return Napi::Boolean::New(env, added);
}

Napi::Value SpawnStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2) throw Napi::TypeError::New(env, "takes a plan object and whether it is gated");
  if (starting) Bad(env, "spawnStart", "is already waiting for spawnFinish");
  bool gated = Bool(info[1], "gated");
  std::unique_ptr<PendingSpawn> s(new PendingSpawn());
  ParsePlan(info[0], s->plan);
  std::memset(&s->e, 0, sizeof(s->e));
  s->fds.assign(s->plan.sockets.size(), -1);
  if (pipe2(s->go, O_CLOEXEC) < 0 || (gated && pipe2(s->gate, O_CLOEXEC) < 0) ||
      (gated && jail_view_has_rules(s->plan.c.ns) && pipe2(s->rules, O_CLOEXEC) < 0)) {
    s->e = {"spawn", "pipe2", errno, nullptr};
    ClosePipes(s.get());
    throw ApplyError(env, s->e);
  }
  s->plan.c.go_fd = s->go[0];
  s->plan.c.view_gate_fd = s->gate[0];
  s->plan.c.rules_fd = s->rules[0];
  int rc = pthread_create(&s->thread, nullptr, RunSpawn, s.get());
  if (rc != 0) {
    ClosePipes(s.get());
    s->e = {"spawn", "pthread_create", rc, nullptr};
    throw ApplyError(env, s->e);
  }
  starting = s.release();
  return env.Undefined();
}

Napi::Value SpawnFinish(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!starting) Bad(env, "spawnFinish", "has no spawnStart to finish");
  bool go = Bool(info[0], "go");
  std::unique_ptr<PendingSpawn> s(starting);
  starting = nullptr;
  Say(s->gate[1], 'x');  // a view never let be built is not: nothing runs
  Say(s->rules[1], 'x');  // nor one whose rules were never added
  Say(s->go[1], go ? 'g' : 'x');
  pthread_mutex_lock(&s->lock);
  while (!s->done) pthread_cond_wait(&s->cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  ClosePipes(s.get());
  if (s->pid > 0) {
    pthread_detach(s->thread);
    PendingSpawn *kept = s.release();  // its thread stays, and with it what it shares (its lock)
    if (go) return Spawned(env, kept->pid, kept->fds);
    // Not told to go, yet no step failed: the command was killed while it
    // waited (SIGKILL: every other signal is blocked until after the word
    // to go). Nothing of it ran: the jail is ended and reaped as
    // supervise() would.
    for (int fd : kept->fds) close(fd);
    kill(kept->pid, SIGKILL);
    jail_supervise(kept->pid);
    return Napi::Number::New(env, jail_signals_seen());
  }
  pthread_join(s->thread, nullptr);
  if (!go && s->e.code == ECANCELED) return Napi::Number::New(env, jail_signals_seen());
  throw ApplyError(env, s->e);
}

// spawnChild(plan, stdio, cwd): the library's spawn, one child among many
// (supervisor.h, jail_spawn_child): stdio, three fds of this process, become
// the child's 0, 1 and 2; cwd (or undefined) is where it starts outside
// the namespace layer. Returns { pid, pidfd, report, fds } once the command
// has execed, or throws what failed, as spawn() does. pidfd and report
// (-1 outside the namespace layer) are for watchChild, which closes them.
//
// spawnChildStart(plan, stdio, cwd) makes it ready first, when the warm
// init can take it (jail_spawn_child_begin): the command waits, having run
// nothing, while JavaScript checks the plan; then spawnChildFinish() lets
// it go on and returns as spawnChild does, or spawnChildCancel() ends it.
// false when nothing was started (spawnChild does it all then). One at a
// time, on the main thread; what it holds (the plan, its descriptors) is
// kept here until then.
struct ChildSpawn {
  Plan p;
  struct jail_stdio io;
  std::string cwd;
  struct jail_error e;
  struct jail_report last;  // what e points into after a failure in the init
  std::vector<int> fds;
};
ChildSpawn *startedChild = nullptr;

void ReadChildSpawn(const Napi::CallbackInfo &info, ChildSpawn &c) {
  Napi::Env env = info.Env();
  if (info.Length() != 3) throw Napi::TypeError::New(env, "takes a plan, three fds and a cwd");
  ParsePlan(info[0], c.p);
  std::memset(&c.io, 0, sizeof(c.io));
  Napi::Array stdio = Arr(info[1], "stdio");
  if (stdio.Length() != 3) Bad(env, "stdio", "must hold three fds");
  for (uint32_t i = 0; i < 3; i++) c.io.fd[i] = static_cast<int>(Integer(stdio.Get(i), At("stdio", i), 0, INT32_MAX));
  if (!info[2].IsUndefined()) {
    c.cwd = AbsPath(info[2], "cwd");
    c.io.cwd = c.cwd.c_str();
  }
  std::memset(&c.e, 0, sizeof(c.e));
  c.fds.assign(c.p.sockets.size(), -1);
}

// jail_spawn_child of a prepared ChildSpawn (begun or not); then released.
Napi::Value SpawnReadChild(Napi::Env env, ChildSpawn &c) {
  struct jail_child child;
  int pid = jail_spawn_child(&c.p.c, &c.io, c.fds.data(), &c.last, &child, &c.e);
  jail_release(&c.p.c);
  if (pid < 0) throw ApplyError(env, c.e);
  Napi::Array a = Napi::Array::New(env, c.fds.size());
  for (uint32_t i = 0; i < c.fds.size(); i++) a.Set(i, c.fds[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", child.pid);
  o.Set("pidfd", child.pidfd);
  o.Set("report", child.report);
  o.Set("fds", a);
  return o;
}

// The started one ended, having run nothing (none: nothing to do).
void CancelStartedChild() {
  if (!startedChild) return;
  std::unique_ptr<ChildSpawn> c(startedChild);
  startedChild = nullptr;
  jail_spawn_child_cancel();
  jail_release(&c->p.c);
}

Napi::Value SpawnChild(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ChildSpawn c;
  ReadChildSpawn(info, c);
  if (getpid() == static_cast<pid_t>(syscall(SYS_gettid))) CancelStartedChild();  // never finished for another plan
  WaitBackground();
  if (jail_prepare(&c.p.c, &c.e) < 0) throw ApplyError(env, c.e);
  return SpawnReadChild(env, c);
}

Napi::Value SpawnChildStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (startedChild || getpid() != static_cast<pid_t>(syscall(SYS_gettid))) return Napi::Boolean::New(env, false);
  std::unique_ptr<ChildSpawn> c(new ChildSpawn());
  ReadChildSpawn(info, *c);
  WaitBackground();
  if (jail_prepare(&c->p.c, &c->e) < 0) throw ApplyError(env, c->e);
  int begun = jail_spawn_child_begin(&c->p.c, &c->io, &c->e);
  if (begun <= 0) {
    jail_release(&c->p.c);
    if (begun < 0) throw ApplyError(env, c->e);
    return Napi::Boolean::New(env, false);
  }
  startedChild = c.release();
  return Napi::Boolean::New(env, true);
}

Napi::Value SpawnChildFinish(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!startedChild) throw Napi::Error::New(env, "spawnChildFinish: no spawn started");
  std::unique_ptr<ChildSpawn> c(startedChild);
  startedChild = nullptr;
  return SpawnReadChild(env, *c);
}

Napi::Value SpawnChildCancel(const Napi::CallbackInfo &info) {
  CancelStartedChild();
  return info.Env().Undefined();
}

// watchChild(pid, pidfd, report, callback): the child polled on this
// thread's event loop (no thread waits), and callback(null, { code, signal
// }) called once with how the command ended. In the namespace layer that is
// as soon as the init's report says so: the init sends it once all the
// command left is ended and reaped, and its own exit, which takes the
// namespaces down (0.2 to 0.8 ms, more on a busy machine), is waited for
// after, without keeping the loop alive; it is reaped (pidfd and report
// closed) when its pidfd is readable. Without a report, or when the init
// ends without one, its own wait status, at its reap. A child reaped by
// someone else comes back as an error (ECHILD). The polls keep the loop
// alive, as a child_process does, until the status came or until
// refChild(handle, false); the handle it returns outlives them (then
// refChild does nothing). When the env ends first (a worker thread
// terminated), the child ends with it, as with its thread, but it is
// killed and reaped here, and the polls closed, before the env's loop is:
// Node aborts the process when a loop closes with a handle open.
struct Watch {
  uv_poll_t poll;    // the pidfd: readable once the init has exited
  uv_poll_t report;  // the init's report socket: the status, before that
  int open = 0;      // handles not yet closed
  bool reporting = false;  // the report's poll runs
  bool delivered = false;  // the callback was called
  napi_env env;
  struct jail_child child;
  Napi::FunctionReference callback;
  std::unique_ptr<Napi::AsyncContext> context;
  uint32_t id = 0;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool closing = false;  // uv_close called: Closed removes the hook
};

// The watches whose poll is open, by id, for refChild: a plain number in
// JavaScript (no object with a finalizer per run). Each env's calls come
// on its own thread, so the map is shared under a lock.
std::mutex watches_lock;
std::unordered_map<uint32_t, Watch *> watches;
uint32_t next_watch = 0;

void Closed(uv_handle_t *h) {
  Watch *w = static_cast<Watch *>(h->data);
  if (--w->open > 0) return;
  {
    std::lock_guard<std::mutex> g(watches_lock);
    watches.erase(w->id);
  }
  napi_async_cleanup_hook_handle hook = w->cleanup;
  delete w;
  if (hook != nullptr) napi_remove_async_cleanup_hook(hook);
}

// The report's poll, stopped and closed (before its fd is).
void StopReport(Watch *w) {
  if (!w->reporting) return;
  w->reporting = false;
  uv_poll_stop(&w->report);
  uv_close(reinterpret_cast<uv_handle_t *>(&w->report), Closed);
}

void CloseWatch(Watch *w) {
  w->closing = true;
  StopReport(w);
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t *>(&w->poll), Closed);
}

// callback(err, status), once; from then on nothing of the child's keeps
// the loop alive.
void Deliver(Watch *w, int got, int status, int saved) {
  if (w->delivered) return;
  w->delivered = true;
  uv_unref(reinterpret_cast<uv_handle_t *>(&w->poll));
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Value err = env.Null();
  if (got < 0) {
    struct jail_error e = {"wait", "waitpid", saved, nullptr};
    err = ApplyError(env, e).Value();
  }
  try {
    w->callback.MakeCallback(env.Global(), {err, got > 0 ? Napi::Value(Status(env, status)) : env.Null()}, *w->context);
  } catch (const Napi::Error &e) {
    napi_fatal_exception(w->env, e.Value());  // as an uncaught exception in the callback
  }
}

void Reported(uv_poll_t *handle, int, int) {
  Watch *w = static_cast<Watch *>(handle->data);
  struct jail_report r;
  ssize_t n = recv(w->child.report, &r, sizeof(r), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  StopReport(w);  // one record, or the end: the rest comes at the reap
  if (n == static_cast<ssize_t>(sizeof(r)) && r.kind == JAIL_REPORT_STATUS) Deliver(w, 1, r.value, 0);
}

void Reaped(uv_poll_t *handle, int, int) {
  Watch *w = static_cast<Watch *>(handle->data);
  int status = 0;
  siginfo_t si;
  si.si_pid = 0;
  if (waitid(P_PID, static_cast<id_t>(w->child.pid), &si, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && si.si_pid == 0)
    return;  // not ended yet: keep polling
  // Both polls stopped before jail_child_reap closes their fds (and
  // reads a status left in the report): the callback may spawn again, and
  // libuv refuses (EEXIST) a poll of a number it still watches.
  StopReport(w);
  uv_poll_stop(&w->poll);
  int got = jail_child_reap(&w->child, &status);
  int saved = errno;
  Deliver(w, got, status, saved);
  CloseWatch(w);
}

// The env ends while the child runs: end it and reap it now.
void EnvEnds(napi_async_cleanup_hook_handle, void *arg) {
  Watch *w = static_cast<Watch *>(arg);
  if (w->closing) return;
  int status = 0;
  syscall(SYS_pidfd_send_signal, w->child.pidfd, SIGKILL, nullptr, 0);
  struct pollfd p = {w->child.pidfd, POLLIN, 0};
  while (poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  StopReport(w);
  uv_poll_stop(&w->poll);
  jail_child_reap(&w->child, &status);
  CloseWatch(w);
}

Napi::Value WatchChild(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[3].IsFunction()) throw Napi::TypeError::New(env, "takes pid, pidfd, report and a callback");
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
  auto w = std::make_unique<Watch>();
  w->env = env;
  w->child.pid = static_cast<int>(Integer(info[0], "pid", 1, INT32_MAX));
  w->child.pidfd = static_cast<int>(Integer(info[1], "pidfd", 0, INT32_MAX));
  w->child.report = static_cast<int>(Integer(info[2], "report", -1, INT32_MAX));
  w->callback = Napi::Persistent(info[3].As<Napi::Function>());
  w->context = std::make_unique<Napi::AsyncContext>(env, "jail.child");
  w->poll.data = w->report.data = w.get();
  int rc = uv_poll_init(loop, &w->poll, w->child.pidfd);
  if (rc == 0) {
    w->open = 1;
    rc = uv_poll_start(&w->poll, UV_READABLE, Reaped);
  }
  if (rc == 0 && w->child.report >= 0) {
    rc = uv_poll_init(loop, &w->report, w->child.report);
    if (rc == 0) {
      w->open++;
      w->reporting = true;
      rc = uv_poll_start(&w->report, UV_READABLE, Reported);
    }
  }
  if (rc != 0) {
    if (w->open > 0) {
      CloseWatch(w.get());
      w.release();
    }
    struct jail_error e = {"wait", "uv_poll_start", -rc, nullptr};
    throw ApplyError(env, e);
  }
  if (napi_add_async_cleanup_hook(env, EnvEnds, w.get(), &w->cleanup) != napi_ok) w->cleanup = nullptr;
  {
    std::lock_guard<std::mutex> g(watches_lock);
    while (w->id == 0 || watches.count(w->id)) w->id = ++next_watch;
    watches[w->id] = w.get();
  }
  uint32_t id = w->id;
  w.release();
  return Napi::Number::New(env, id);
}

// refChild(handle, on): whether the child's polls keep the event loop
// alive (ChildProcess's ref() and unref()), until its status came.
Napi::Value RefChild(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsBoolean()) throw Napi::TypeError::New(env, "takes a watchChild handle and a boolean");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  Watch *w = nullptr;
  {
    std::lock_guard<std::mutex> g(watches_lock);
    auto it = watches.find(id);
    if (it != watches.end() && it->second->env == env) w = it->second;
  }
  if (w == nullptr || w->delivered || w->closing) return env.Undefined();  // its status came already
  bool on = info[1].As<Napi::Boolean>().Value();
  for (uv_handle_t *h : {reinterpret_cast<uv_handle_t *>(&w->poll), reinterpret_cast<uv_handle_t *>(&w->report)}) {
    if (h == reinterpret_cast<uv_handle_t *>(&w->report) && !w->reporting) continue;
    if (on)
      uv_ref(h);
    else
      uv_unref(h);
  }
  return env.Undefined();
}

// pipe(): [read end, write end], both O_CLOEXEC, for a child's stdio.
Napi::Value Pipe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    struct jail_error e = {"stdio", "pipe2", errno, nullptr};
    throw ApplyError(env, e);
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

// close(fd): a descriptor this addon made (pipe, spawnChild's sockets).
// Not fs.closeSync: in a worker thread Node warns about closing one that
// fs did not open there. EINTR still closes it on Linux.
Napi::Value Close(const Napi::CallbackInfo &info) {
  int fd = static_cast<int>(Integer(info[0], "fd", 0, INT32_MAX));
  if (close(fd) < 0 && errno != EINTR) {
    struct jail_error e = {"stdio", "close", errno, nullptr};
    throw ApplyError(info.Env(), e);
  }
  return info.Env().Undefined();
}

// reraise(sig): die of `sig` as the command did, leaving no core.
// Returns only for signals whose default is to ignore.
Napi::Value Reraise(const Napi::CallbackInfo &info) {
  jail_reraise(static_cast<int>(Integer(info[0], "signal", 1, NSIG - 1)));
  return info.Env().Undefined();
}

// rmtree(path): remove a directory tree following no symlink; throws what
// failed (step "rmtree").
Napi::Value Rmtree(const Napi::CallbackInfo &info) {
  std::string path = Str(info[0], "path");
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  if (jail_rmtree(path.c_str(), &e) < 0) throw ApplyError(info.Env(), e);
  return info.Env().Undefined();
}

// lockDir(path): the descriptor of directory `path`, holding a shared
// lock on it; dirLocked(path): whether a process holds one (rmtree.c).
Napi::Value LockDir(const Napi::CallbackInfo &info) {
  std::string path = Str(info[0], "path");
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  int fd = jail_lockdir(path.c_str(), &e);
  if (fd < 0) throw ApplyError(info.Env(), e);
  return Napi::Number::New(info.Env(), fd);
}

// makeDir(path): a new directory (mkdir 0700: EEXIST if the name is
// taken), then lockDir's lock on it: its descriptor. writeNew(path, text):
// a new file (O_EXCL: never one that is there, nor through a link), 0600,
// holding text's UTF-8. For the private TMPDIR (src/runsteps.ts): node:fs
// would compile its own functions for them in every run.
Napi::Value MakeDir(const Napi::CallbackInfo &info) {
  std::string path = AbsPath(info[0], "path");
  struct jail_error e = {"tmpdir", "mkdir", 0, path.c_str()};
  if (mkdir(path.c_str(), 0700) < 0) {
    e.code = errno;
    throw ApplyError(info.Env(), e);
  }
  int fd = jail_lockdir(path.c_str(), &e);
  if (fd < 0) throw ApplyError(info.Env(), e);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value WriteNew(const Napi::CallbackInfo &info) {
  std::string path = AbsPath(info[0], "path");
  std::string text = Str(info[1], "text");
  struct jail_error e = {"tmpdir", "open", 0, path.c_str()};
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    e.code = errno;
    throw ApplyError(info.Env(), e);
  }
  e.syscall = "write";
  for (size_t done = 0; done < text.size();) {
    ssize_t k = write(fd, text.data() + done, text.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      e.code = k < 0 ? errno : EIO;
      close(fd);
      throw ApplyError(info.Env(), e);
    }
    done += static_cast<size_t>(k);
  }
  if (close(fd) < 0 && errno != EINTR) {
    e.syscall = "close";
    e.code = errno;
    throw ApplyError(info.Env(), e);
  }
  return info.Env().Undefined();
}

Napi::Value DirLocked(const Napi::CallbackInfo &info) {
  std::string path = Str(info[0], "path");
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  int held = jail_dirlocked(path.c_str(), &e);
  if (held < 0) throw ApplyError(info.Env(), e);
  return Napi::Boolean::New(info.Env(), held == 1);
}

// A check (scanTreeVerifyStart) not taken: waited for and dropped.
void DropPendingCheck() {
  if (!pending || !pending->verify) return;
  WaitScan();
  jail_scan_free(&pending->s);
  delete pending;
  pending = nullptr;
}

// Starts p (a scan or a check) on its thread; false when none could be made.
bool StartPending(std::unique_ptr<PendingScan> &p) {
  pthread_mutex_lock(&scans_lock);
  scans_running++;
  pthread_mutex_unlock(&scans_lock);
  if (pthread_create(&p->thread, nullptr, RunScan, p.get()) != 0) {
    pthread_mutex_lock(&scans_lock);
    scans_running--;
    pthread_mutex_unlock(&scans_lock);
    return false;
  }
  p->running = true;
  pending = p.release();
  return true;
}

Napi::Value ScanTreeStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  DropPendingCheck();
  if (pending) return Napi::Boolean::New(env, false);
  std::unique_ptr<PendingScan> p(new PendingScan());
  std::memset(&p->s, 0, sizeof(p->s));
  std::memset(&p->e, 0, sizeof(p->e));
  p->verify = false;
  p->root = root;
  p->depth = depth;
  return Napi::Boolean::New(env, StartPending(p));
}

// The entries of a scan as { names, meta } (see scanTree), freeing them
// unless they are kept.
Napi::Object ScanResult(Napi::Env env, struct jail_scan &s, bool release = true) {
  Napi::BigUint64Array meta = Napi::BigUint64Array::New(env, 3 * s.n);
  Napi::BigUint64Array times = Napi::BigUint64Array::New(env, 2 * s.n);
  for (size_t i = 0; i < s.n; i++) {
    meta[3 * i] = static_cast<uint64_t>(s.entries[i].flags) << 32 | s.entries[i].mode;
    meta[3 * i + 1] = s.entries[i].dev;
    meta[3 * i + 2] = s.entries[i].ino;
    times[2 * i] = s.entries[i].mtime_ns;
    times[2 * i + 1] = s.entries[i].ctime_ns;
  }
  Napi::Object o = Napi::Object::New(env);
  // Without the last NUL: split('\0') gives one name per entry.
  o.Set("names", Napi::String::New(env, s.names, s.names_len ? s.names_len - 1 : 0));
  o.Set("meta", meta);
  o.Set("times", times);
  o.Set("began", Napi::BigInt::New(env, s.began_ns));
  if (release) jail_scan_free(&s);
  return o;
}

Napi::Value ScanTreeTake(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  if (!pending || pending->verify || pending->root != root || pending->depth != depth) return env.Null();
  WaitScan();
  std::unique_ptr<PendingScan> p(pending);
  pending = nullptr;
  if (p->rc < 0) throw ApplyError(env, p->e);
  return ScanResult(env, p->s);
}

// A scan made before, to check (scanTreeVerify's arguments from info[2]):
// names as scanTree gives them, and its meta and, for its directories
// only, in order, their two times, each as the bytes of 64-bit words.
struct jail_scan ExpectedScan(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string names = Str(info[2], "names");
  auto bytes = [&](Napi::Value v, const char *where) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) Bad(env, where, "must be a Uint8Array");
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    return std::string(reinterpret_cast<const char *>(a.Data()), a.ByteLength());
  };
  std::string meta = bytes(info[3], "meta"), times = bytes(info[4], "times");
  size_t n = meta.size() / 24, dirs = 0, named = 1;
  for (char c : names) named += c == '\0';
  if (meta.size() % 24 != 0 || n == 0 || named != n) Bad(env, "meta", "must be three words per name");
  if (times.size() % 16 != 0) Bad(env, "times", "must be two words per directory");
  struct jail_scan s;
  std::memset(&s, 0, sizeof(s));
  s.entries = static_cast<struct jail_scan_entry *>(calloc(n, sizeof(*s.entries)));
  s.names = static_cast<char *>(malloc(names.size() + 1));
  if (!s.entries || !s.names) {
    jail_scan_free(&s);
    throw std::bad_alloc();
  }
  std::memcpy(s.names, names.c_str(), names.size() + 1);  // each name with its NUL
  s.names_len = s.names_cap = names.size() + 1;
  s.n = s.cap = n;
  for (size_t i = 0; i < n; i++) {
    uint64_t w[3];
    std::memcpy(w, meta.data() + 24 * i, sizeof(w));
    s.entries[i].mode = static_cast<uint32_t>(w[0]);
    s.entries[i].flags = static_cast<uint32_t>(w[0] >> 32);
    s.entries[i].dev = w[1];
    s.entries[i].ino = w[2];
    if (S_ISDIR(s.entries[i].mode) && 16 * dirs + 16 <= times.size()) {
      std::memcpy(&s.entries[i].mtime_ns, times.data() + 16 * dirs, 8);
      std::memcpy(&s.entries[i].ctime_ns, times.data() + 16 * dirs + 8, 8);
    }
    dirs += S_ISDIR(s.entries[i].mode) ? 1 : 0;
  }
  if (16 * dirs != times.size()) {
    jail_scan_free(&s);
    Bad(env, "times", "must be two words per directory");
  }
  return s;
}

// scanTreeVerify(root, maxDepth, names, meta, times): whether the tree at
// root holds what a scanTree of it gave before (names and meta as it gave
// them; times: its directories' times), without listing it again (scan.c,
// jail_scan_verify). For a scan made after each directory's last change
// (src/trace.ts): the CLI's stored plans check root's /etc so.
Napi::Value ScanTreeVerify(const Napi::CallbackInfo &info) {
  std::string root = AbsPath(info[0], "root");
  Integer(info[1], "maxDepth", 0, 1024);
  struct jail_scan s = ExpectedScan(info);
  int same = jail_scan_verify(root.c_str(), &s);
  jail_scan_free(&s);
  return Napi::Boolean::New(info.Env(), same == 1);
}

// scanTreeVerifyStart(root, maxDepth, names, meta, times): the same check on
// a thread (see PendingScan); false when a scan or check is pending.
// scanTreeVerifyTake(root, maxDepth): its verdict, waited for; null when no
// check of that root and depth was started.
Napi::Value ScanTreeVerifyStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  struct jail_scan s = ExpectedScan(info);
  if (pending) {
    jail_scan_free(&s);
    return Napi::Boolean::New(env, false);
  }
  std::unique_ptr<PendingScan> p(new PendingScan());
  std::memset(&p->e, 0, sizeof(p->e));
  p->s = s;
  p->verify = true;
  p->root = root;
  p->depth = depth;
  if (StartPending(p)) return Napi::Boolean::New(env, true);
  jail_scan_free(&p->s);
  return Napi::Boolean::New(env, false);
}

Napi::Value ScanTreeVerifyTake(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  if (!pending || !pending->verify || pending->root != root || pending->depth != depth) return env.Null();
  WaitScan();
  std::unique_ptr<PendingScan> p(pending);
  pending = nullptr;
  jail_scan_free(&p->s);
  return Napi::Boolean::New(env, p->rc == 1);
}

// scanTree(root, maxDepth): every entry under root, lstat'd, following no
// symlink (scan.c), as { names, meta }: the paths relative to root joined
// by NULs, and per entry three numbers, (flags << 32 | mode), dev, ino.
Napi::Value ScanTree(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  struct jail_scan s;
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  if (jail_scan_tree(root.c_str(), depth, -1, &s, &e) < 0) throw ApplyError(env, e);
  return ScanResult(env, s);
}

// scanTreeKept(root, maxDepth): what scanTree returns, for a process that
// asks again and again (the library: root's /etc, for every run). The scan
// is kept, and given again, while nothing it reports can have changed:
// every directory in it is watched (inotify, added before the directory
// is listed, see scan.c) and no event has come, and the mount table has
// not changed (a mount over an entry sends no inotify event; a poll of
// /proc/self/mounts shows it). A change of a name, mode or owner anywhere
// in the tree, a mount or unmount anywhere, an overflow of the event queue:
// the next call scans again. Where a watch cannot be had, every call scans.
// generation names the scan returned (a new number for each scan made), so
// that a caller keeping its own copy, one per worker thread, can tell
// whether the kept scan is still the one it copied.
// The grants made from a scan carry each file's identity, which the addon
// checks again when it opens them.
struct KeptScan {
  std::mutex lock;
  bool valid = false;
  std::string root;
  int depth = 0;
  int events = -1;  // inotify, O_NONBLOCK
  int mounts = -1;  // /proc/self/mounts, polled for POLLPRI
  struct jail_scan s;
  // Which scan this is: each worker thread converts it for itself and
  // must know when another thread's call replaced it.
  double generation = 0;
} kept;

void DropKept() {
  if (kept.valid) jail_scan_free(&kept.s);
  kept.valid = false;
  if (kept.events >= 0) close(kept.events);
  if (kept.mounts >= 0) close(kept.mounts);
  kept.events = kept.mounts = -1;
}

// Whether the kept scan still holds: no inotify event (nor overflow) and
// no mount table change since it was made.
bool KeptHolds() {
  struct pollfd p[2] = {{kept.events, POLLIN, 0}, {kept.mounts, POLLPRI, 0}};
  return poll(p, 2, 0) == 0;
}

Napi::Value ScanTreeKept(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root = AbsPath(info[0], "root");
  int depth = static_cast<int>(Integer(info[1], "maxDepth", 0, 1024));
  std::lock_guard<std::mutex> g(kept.lock);
  if (kept.valid && kept.root == root && kept.depth == depth && KeptHolds()) {
    Napi::Object o = ScanResult(env, kept.s, false);
    o.Set("kept", true);
    o.Set("generation", kept.generation);
    return o;
  }
  DropKept();
  // Both before the scan: a change during it shows at the next call.
  kept.events = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  kept.mounts = open("/proc/self/mounts", O_RDONLY | O_CLOEXEC);
  struct jail_scan s;
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  if (jail_scan_tree(root.c_str(), depth, kept.events, &s, &e) < 0) {
    DropKept();
    throw ApplyError(env, e);
  }
  if (kept.events < 0 || kept.mounts < 0 || s.unwatched) {
    DropKept();
  } else {
    kept.s = s;
    kept.root = root;
    kept.depth = depth;
    kept.valid = true;
  }
  Napi::Object o = ScanResult(env, s, !kept.valid);
  o.Set("kept", false);
  o.Set("generation", ++kept.generation);
  return o;
}

// tcpOwner(local, localPort, remote, remotePort): the owner of the TCP
// socket with these ends in this process's network namespace (peer.h),
// as { uid, inode, state }, or null when there is none. Addresses are
// IPv4 or IPv6 literals, both of one family.
Napi::Value TcpOwner(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  struct jail_tcp_ends q;
  std::memset(&q, 0, sizeof(q));
  std::string local = Str(info[0], "local"), remote = Str(info[2], "remote");
  q.family = local.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(q.family, local.c_str(), q.local) != 1) Bad(env, "local", "must be an IP address");
  if (inet_pton(q.family, remote.c_str(), q.remote) != 1) Bad(env, "remote", "must be an IP address of the same family");
  q.local_port = static_cast<uint16_t>(Integer(info[1], "localPort", 1, 65535));
  q.remote_port = static_cast<uint16_t>(Integer(info[3], "remotePort", 1, 65535));
  struct jail_tcp_peer o;
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  int r = jail_tcp_owner(&q, &o, &e);
  if (r < 0) throw ApplyError(env, e);
  if (r == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("uid", Napi::Number::New(env, o.uid));
  out.Set("inode", Napi::Number::New(env, o.inode));
  out.Set("state", Napi::Number::New(env, o.state));
  return out;
}


// digest(text[, latin1]): 128 bits of the text's bytes (UTF-8, or latin1)
// as 32 hex digits: four lanes of FNV-1a, each with its own offset and
// multiplier, mixed at the end. Not a cryptographic hash: it finds the
// CLI's stored plans and notices a change (src/planstore.ts says why that
// is enough there).
std::string Digest(const unsigned char *p, size_t n) {
  uint32_t h[4] = {0x811c9dc5u, 0x9e3779b9u, 0x85ebca6bu, 0xc2b2ae35u};
  static const uint32_t mul[4] = {0x01000193u, 0x5bd1e995u, 0x27d4eb2du, 0x165667b1u};
  for (size_t i = 0; i < n; i++)
    for (int l = 0; l < 4; l++) h[l] = (h[l] ^ p[i]) * mul[l];
  char out[33];
  for (int l = 0; l < 4; l++) {
    uint32_t x = h[l] ^ (h[l] >> 16) ^ h[(l + 3) % 4] ^ static_cast<uint32_t>(n);
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    snprintf(out + 8 * l, 9, "%08x", x);
  }
  return std::string(out, 32);
}

Napi::Value DigestText(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "text: not a string");
  std::string bytes;
  if (info.Length() > 1 && info[1].ToBoolean().Value()) {
    size_t n = 0;
    napi_get_value_string_latin1(env, info[0], nullptr, 0, &n);
    bytes.resize(n + 1);
    napi_get_value_string_latin1(env, info[0], &bytes[0], n + 1, &n);
    bytes.resize(n);
  } else {
    bytes = info[0].As<Napi::String>().Utf8Value();
  }
  return Napi::String::New(env, Digest(reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size()));
}

// A file's bytes as Host.readText (follow or not) and readHead read them
// (src/host.ts), digested: "#digest", "-" where they answer null, "!..."
// where they throw. `max`: readText's limit, or readHead's length.
std::string FileAnswer(char op, const char *p, size_t max) {
  struct stat st;
  bool head = op == 'h', follow = op == 'c';
  if (!head && (follow ? stat(p, &st) : lstat(p, &st)) != 0)
    return errno == ENOENT || errno == ENOTDIR ? "-" : "!" + std::to_string(errno);
  int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow || head ? 0 : O_NOFOLLOW));
  if (fd < 0) return head || errno == ENOENT || errno == ENOTDIR || errno == EACCES ? "-" : "!" + std::to_string(errno);
  std::string bytes, r;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    r = head ? "-" : "!";
  } else if (!head && static_cast<uint64_t>(st.st_size) > max) {
    r = "!";
  } else {
    // As the host: at most the size fstat gave (or max) and one byte more,
    // which only a file growing meanwhile fills.
    bytes.resize(head ? max : std::min(static_cast<size_t>(st.st_size), max) + 1);
    size_t len = 0;
    for (ssize_t k; len < bytes.size(); len += static_cast<size_t>(k)) {
      k = head ? pread(fd, &bytes[0], bytes.size(), 0) : read(fd, &bytes[len], bytes.size() - len);
      if (k < 0) { r = head ? "-" : "!" + std::to_string(errno); break; }
      if (k == 0 || head) { len += static_cast<size_t>(k); break; }
    }
    if (r.empty()) r = !head && len > max ? "!" : "#" + Digest(reinterpret_cast<const unsigned char *>(bytes.data()), len);
  }
  close(fd);
  return r;
}

// 'd': Host.readdir's answer, as Node gives it: the names but . and ..,
// sorted as libuv's scandir sorts them (strcmp), each after its type ('d'
// a directory, 'l' a symlink, 'f' anything else; a d_type the file system
// does not give is lstat'd, as Node does), joined by NULs: "" for an empty
// directory. Host.readdir answers [] where it cannot list (missing, not a
// directory, not readable: a root-owned 0700 directory in the project of
// a user), and so does this: "", as the plan saw it.
std::string ListAnswer(const char *p) {
  DIR *d = opendir(p);
  if (!d) return "";
  std::vector<std::string> names;
  struct dirent *e;
  int err;
  for (errno = 0; (e = readdir(d)) != nullptr; errno = 0) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    unsigned char t = e->d_type;
    struct stat st;
    if (t == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) t = IFTODT(st.st_mode);
    names.push_back((t == DT_DIR ? "d" : t == DT_LNK ? "l" : "f") + std::string(e->d_name));
  }
  err = errno;
  closedir(d);
  if (err != 0) return "";
  std::sort(names.begin(), names.end(), [](const std::string &a, const std::string &b) { return std::strcmp(a.c_str() + 1, b.c_str() + 1) < 0; });
  std::string r;
  for (size_t i = 0; i < names.size(); i++) {
    if (i > 0) r += '\0';
    r += names[i];
  }
  return r;
}

// 'o': the text of a regular file of this user's, not followed through a
// link, of at most `max` bytes: "=" and its bytes; "-" if not.
std::string OwnText(const char *p, size_t max) {
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "-";
  struct stat st;
  std::string r = "=";
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || static_cast<uint64_t>(st.st_size) > max) {
    r = "-";
  } else {
    size_t size = static_cast<size_t>(st.st_size), len = 1;
    r.resize(1 + size + 1);  // one byte more, which only a file that grew fills
    for (ssize_t k; len < r.size(); len += static_cast<size_t>(k)) {
      k = read(fd, &r[len], r.size() - len);
      if (k < 0 && errno == EINTR) { k = 0; continue; }
      if (k <= 0) break;
    }
    if (len == 1 + size) r.resize(len);
    else r = "-";  // it changed while read
  }
  close(fd);
  return r;
}

// answers(ops, paths, nums): what the host answers now about each path, as
// text, for the CLI's stored plans (src/trace.ts compares them with the
// answers a plan was prepared from, put in the same form). One call for a
// hundred questions, where each from JavaScript costs tens of microseconds.
// ops[i] (about paths[i]; nums[i] where it takes a number):
//   'l' / 's'  lstat / stat: "mode uid dev ino"; "-" if missing
//   'L' / 'S'  the same without the identity: "mode uid"
//   'r'        realpath(3); 'k' readlink(2): "=" and the path; "-" on any error
//   'x'        access(X_OK): "1" or "0"
//   't'        a directory's stamp (stat, following links):
//              "dev:ino:mtime_ns:ctime_ns fstype" (statfs's f_type, hex)
//   'c' / 'C'  Host.readText following links or not, at most nums[i] bytes;
//   'h'        Host.readHead of nums[i] bytes: see FileAnswer
//   'd'        Host.readdir: see ListAnswer
// and for the store's own files (src/planstore.ts), which are not compared:
//   'i'        stat: "dev:ino:size:mtime_ns"; "-" on any error
//   'o'        a regular file of this user's (not a link), at most nums[i]
//              bytes: "=" and its text; "-" if not (or not there)
// Any other error: "!errno", which no stored answer is.
std::string Answer(char op, const char *p, size_t num) {
  char buf[PATH_MAX + 64];
  struct stat st;
  switch (op) {
    case 'l': case 's': case 'L': case 'S': {
      if ((op == 'l' || op == 'L' ? lstat(p, &st) : stat(p, &st)) != 0)
        return errno == ENOENT || errno == ENOTDIR ? "-" : "!" + std::to_string(errno);
      if (op == 'L' || op == 'S') snprintf(buf, sizeof(buf), "%u %u", static_cast<unsigned>(st.st_mode), static_cast<unsigned>(st.st_uid));
      else snprintf(buf, sizeof(buf), "%u %u %" PRIu64 " %" PRIu64, static_cast<unsigned>(st.st_mode), static_cast<unsigned>(st.st_uid), static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
      return buf;
    }
    case 'r':
      return realpath(p, buf) ? "=" + std::string(buf) : "-";
    case 'k': {
      ssize_t n = readlink(p, buf, sizeof(buf));
      return n < 0 || static_cast<size_t>(n) >= sizeof(buf) ? "-" : "=" + std::string(buf, static_cast<size_t>(n));
    }
    case 'x':
      return access(p, X_OK) == 0 ? "1" : "0";
    case 't': {
      struct statfs sf;
      if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode) || statfs(p, &sf) != 0) return "-";
      auto ns = [](const struct timespec &t) -> uint64_t { return static_cast<uint64_t>(t.tv_sec) * UINT64_C(1000000000) + static_cast<uint64_t>(t.tv_nsec); };
      snprintf(buf, sizeof(buf), "%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64 " %lx", static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), ns(st.st_mtim), ns(st.st_ctim), static_cast<unsigned long>(sf.f_type));
      return buf;
    }
    case 'c': case 'C': case 'h':
      return FileAnswer(op, p, num);
    case 'd':
      return ListAnswer(p);
    case 'i':
      if (stat(p, &st) != 0) return "-";
      snprintf(buf, sizeof(buf), "%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
               static_cast<uint64_t>(st.st_mtim.tv_sec) * UINT64_C(1000000000) + static_cast<uint64_t>(st.st_mtim.tv_nsec));
      return buf;
    case 'o':
      return OwnText(p, num);
    default:
      return "!" + std::to_string(EINVAL);
  }
}

// answers()'s arguments: ops, paths and nums, one of each per question.
Questions ReadQuestions(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Questions q;
  q.ops = Str(info[0], "ops");
  if (!info[1].IsArray() || !info[2].IsArray()) throw Napi::TypeError::New(env, "paths, nums: not arrays");
  Napi::Array paths = info[1].As<Napi::Array>();
  Napi::Array nums = info[2].As<Napi::Array>();
  if (paths.Length() != q.ops.size() || nums.Length() != q.ops.size()) throw Napi::TypeError::New(env, "paths, nums: not one per op");
  q.paths.reserve(q.ops.size());
  q.nums.reserve(q.ops.size());
  for (uint32_t i = 0; i < q.ops.size(); i++) {
    q.paths.push_back(Str(paths.Get(i), "path"));
    q.nums.push_back(static_cast<size_t>(Integer(nums.Get(i), "num", 0, 64 << 20)));
  }
  return q;
}

Napi::Array AnswerArray(Napi::Env env, const std::vector<std::string> &answers) {
  Napi::Array out = Napi::Array::New(env, answers.size());
  for (uint32_t i = 0; i < answers.size(); i++) out.Set(i, Napi::String::New(env, answers[i]));
  return out;
}

Napi::Value Answers(const Napi::CallbackInfo &info) {
  Questions q = ReadQuestions(info);
  std::vector<std::string> out(q.ops.size());
  for (size_t i = 0; i < q.ops.size(); i++) out[i] = Answer(q.ops[i], q.paths[i].c_str(), q.nums[i]);
  return AnswerArray(info.Env(), out);
}

Napi::Value AnswersStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Questions q = ReadQuestions(info);
  if (asking) return Napi::Boolean::New(env, false);
  std::unique_ptr<PendingAnswers> a(new PendingAnswers());
  a->q = std::move(q);
  a->out.resize(a->q.ops.size());
  if (pthread_create(&a->thread, nullptr, RunAnswers, a.get()) != 0) return Napi::Boolean::New(env, false);
  asking = a.release();
  return Napi::Boolean::New(env, true);
}

Napi::Value AnswersTake(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!asking) return env.Null();  // the usual case: not read at all
  Questions q = ReadQuestions(info);
  if (asking->q.ops != q.ops || asking->q.paths != q.paths || asking->q.nums != q.nums) return env.Null();
  pthread_join(asking->thread, nullptr);
  std::unique_ptr<PendingAnswers> a(asking);
  asking = nullptr;
  return AnswerArray(env, a->out);
}

// random(n): n random bytes (getrandom(2)) as 2n hex digits, for names
// and salts; n at most 256.
Napi::Value Random(const Napi::CallbackInfo &info) {
  size_t n = static_cast<size_t>(Integer(info[0], "bytes", 1, 256));
  unsigned char b[256];
  for (size_t got = 0; got < n;) {
    ssize_t k = getrandom(b + got, n - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      struct jail_error e = {"random", "getrandom", errno, nullptr};
      throw ApplyError(info.Env(), e);
    }
    got += static_cast<size_t>(k);
  }
  static const char hex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[b[i] >> 4];
    out[2 * i + 1] = hex[b[i] & 15];
  }
  return Napi::String::New(info.Env(), out);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("exec", Napi::Function::New(env, Exec));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("spawnStart", Napi::Function::New(env, SpawnStart));
  exports.Set("spawnRules", Napi::Function::New(env, SpawnRules));
  exports.Set("spawnView", Napi::Function::New(env, SpawnView));
  exports.Set("spawnFinish", Napi::Function::New(env, SpawnFinish));
  exports.Set("spawnChild", Napi::Function::New(env, SpawnChild));
  exports.Set("spawnChildStart", Napi::Function::New(env, SpawnChildStart));
  exports.Set("spawnChildFinish", Napi::Function::New(env, SpawnChildFinish));
  exports.Set("spawnChildCancel", Napi::Function::New(env, SpawnChildCancel));
  exports.Set("watchChild", Napi::Function::New(env, WatchChild));
  exports.Set("refChild", Napi::Function::New(env, RefChild));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("supervise", Napi::Function::New(env, Supervise));
  exports.Set("superviseAsync", Napi::Function::New(env, SuperviseAsync));
  exports.Set("reraise", Napi::Function::New(env, Reraise));
  exports.Set("takeObserved", Napi::Function::New(env, TakeObserved));
  exports.Set("rmtree", Napi::Function::New(env, Rmtree));
  exports.Set("lockDir", Napi::Function::New(env, LockDir));
  exports.Set("makeDir", Napi::Function::New(env, MakeDir));
  exports.Set("writeNew", Napi::Function::New(env, WriteNew));
  exports.Set("dirLocked", Napi::Function::New(env, DirLocked));
  exports.Set("scanTree", Napi::Function::New(env, ScanTree));
  exports.Set("scanTreeKept", Napi::Function::New(env, ScanTreeKept));
  exports.Set("scanTreeStart", Napi::Function::New(env, ScanTreeStart));
  exports.Set("answersStart", Napi::Function::New(env, AnswersStart));
  exports.Set("answersTake", Napi::Function::New(env, AnswersTake));
  exports.Set("scanTreeTake", Napi::Function::New(env, ScanTreeTake));
  exports.Set("scanTreeVerify", Napi::Function::New(env, ScanTreeVerify));
  exports.Set("scanTreeVerifyStart", Napi::Function::New(env, ScanTreeVerifyStart));
  exports.Set("scanTreeVerifyTake", Napi::Function::New(env, ScanTreeVerifyTake));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("tcpOwner", Napi::Function::New(env, TcpOwner));
  exports.Set("answers", Napi::Function::New(env, Answers));
  exports.Set("digest", Napi::Function::New(env, DigestText));
  exports.Set("random", Napi::Function::New(env, Random));
  return exports;
}

}  // namespace

NODE_API_MODULE(jail, Init)
