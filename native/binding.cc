// N-API glue: JS values in, a struct jail_plan out, errors back as objects
// shaped like Node's fs errors ({ code, errno, syscall, step, path }).
// Wording and hints are added in src/native/apply.ts.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <csignal>
#include <pthread.h>

extern "C" {
#include "supervisor.h"
}

namespace {

const char *ErrnoName(int code) {
  switch (code) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENOTDIR)
    E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ETXTBSY) E(ENOSPC) E(ELOOP)
    E(ENAMETOOLONG) E(ENOSYS) E(EOPNOTSUPP) E(EMSGSIZE)
#undef E
    default: return "EUNKNOWN";
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
  o.Set("landlockError", p.landlock_errno ? Napi::Value(Napi::String::New(env, ErrnoName(p.landlock_errno)))
                                          : env.Null());
  o.Set("seccomp", p.seccomp != 0);
  o.Set("noNewPrivs", p.no_new_privs != 0);
  return o;
}

uint64_t U64(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::TypeError::New(o.Env(), std::string(key) + " does not fit in 64 bits");
    return x;
  }
  if (v.IsNumber()) return static_cast<uint64_t>(v.As<Napi::Number>().Int64Value());
  throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a bigint or a number");
}

std::vector<std::string> Strings(const Napi::Value &v, const char *what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an array of strings");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

std::vector<char *> CStrings(std::vector<std::string> &v) {
  std::vector<char *> out;
  for (auto &s : v) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

Napi::Error ApplyError(Napi::Env env, const struct jail_error &e) {
  Napi::Error err = Napi::Error::New(env, std::string(e.syscall) + ": " + strerror(e.code));
  err.Set("code", ErrnoName(e.code));
  err.Set("errno", Napi::Number::New(env, -e.code));
  err.Set("syscall", e.syscall);
  err.Set("step", e.step);
  if (e.path) err.Set("path", e.path);
  return err;
}

// A plan from JS, with the storage its C pointers point into.
struct Plan {
  struct jail_plan c;
  std::vector<std::string> paths;
  std::vector<jail_path_rule> pathRules;
  std::vector<jail_port_rule> portRules;
  std::vector<uint8_t> filter;
  std::vector<int> keep;
  std::string file;
  std::vector<std::string> argv, envp;
  std::vector<char *> cargv, cenvp;
};

void ParsePlan(const Napi::CallbackInfo &info, Plan &p) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "takes one plan object");
  Napi::Object o = info[0].As<Napi::Object>();
  std::memset(&p.c, 0, sizeof(p.c));
  p.c.ruleset_fd = -1;

  Napi::Value ll = o.Get("landlock");
  if (ll.IsObject()) {
    Napi::Object l = ll.As<Napi::Object>();
    p.c.has_landlock = 1;
    p.c.attr.handled_access_fs = U64(l, "handledFs");
    p.c.attr.handled_access_net = U64(l, "handledNet");
    p.c.attr.scoped = U64(l, "scoped");
    p.c.attr_size = static_cast<size_t>(U64(l, "attrSize"));
    if (p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V1 && p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V4 &&
        p.c.attr_size != JAIL_RULESET_ATTR_SIZE_V6)
      throw Napi::TypeError::New(env, "landlock.attrSize must be 8, 16 or 24");
    p.c.restrict_flags = static_cast<uint32_t>(U64(l, "restrictFlags"));
    Napi::Array pa = l.Get("paths").As<Napi::Array>();
    for (uint32_t i = 0; i < pa.Length(); i++) {
      Napi::Object r = pa.Get(i).As<Napi::Object>();
      p.paths.push_back(r.Get("path").As<Napi::String>().Utf8Value());
      p.pathRules.push_back({nullptr, U64(r, "access")});
    }
    for (size_t i = 0; i < p.paths.size(); i++) p.pathRules[i].path = p.paths[i].c_str();
    Napi::Array na = l.Get("ports").As<Napi::Array>();
    for (uint32_t i = 0; i < na.Length(); i++) {
      Napi::Object r = na.Get(i).As<Napi::Object>();
      p.portRules.push_back({U64(r, "port"), U64(r, "access")});
    }
    p.c.paths = p.pathRules.data();
    p.c.n_paths = p.pathRules.size();
    p.c.ports = p.portRules.data();
    p.c.n_ports = p.portRules.size();
  }

  Napi::Value sc = o.Get("seccomp");
  if (sc.IsTypedArray()) {
    Napi::Uint8Array b = sc.As<Napi::Uint8Array>();
    p.filter.assign(b.Data(), b.Data() + b.ByteLength());
    p.c.filter = p.filter.data();
    p.c.filter_len = p.filter.size();
  }

  p.c.drop_caps = o.Get("dropCaps").ToBoolean().Value() ? 1 : 0;
  Napi::Value kf = o.Get("keepFds");
  if (kf.IsArray()) {
    Napi::Array a = kf.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) p.keep.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  }
  p.c.keep_fds = p.keep.data();
  p.c.n_keep_fds = p.keep.size();

  p.file = o.Get("file").As<Napi::String>().Utf8Value();
  p.argv = Strings(o.Get("argv"), "argv");
  p.envp = Strings(o.Get("envp"), "envp");
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
  ParsePlan(info, p);
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  if (jail_prepare(&p.c, &e) == 0) jail_enter(&p.c, &e);
  jail_release(&p.c);
  throw ApplyError(info.Env(), e);
}

// spawn(plan): fork a child that confines itself and execs; returns its
// pid once the exec happened, or throws what failed in the child.
Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Plan p;
  ParsePlan(info, p);
  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  int pid = jail_prepare(&p.c, &e) == 0 ? jail_spawn(&p.c, &e) : -1;
  jail_release(&p.c);
  if (pid < 0) throw ApplyError(info.Env(), e);
  return Napi::Number::New(info.Env(), pid);
}

// supervise(pid): wait for the child, passing on signals sent to us.
// Returns { code, signal } as child_process does (signal as a number).
Napi::Value Supervise(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int status = jail_supervise(info[0].As<Napi::Number>().Int32Value());
  Napi::Object o = Napi::Object::New(env);
  o.Set("code", WIFEXITED(status) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(status))) : env.Null());
  o.Set("signal", WIFSIGNALED(status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(status))) : env.Null());
  return o;
}

// reraise(sig): die of `sig` as the command did: default disposition,
// unblocked, raised. Returns only for signals whose default is to ignore.
Napi::Value Reraise(const Napi::CallbackInfo &info) {
  int sig = info[0].As<Napi::Number>().Int32Value();
  sigset_t set;
  signal(sig, SIG_DFL);
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("exec", Napi::Function::New(env, Exec));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("supervise", Napi::Function::New(env, Supervise));
  exports.Set("reraise", Napi::Function::New(env, Reraise));
  return exports;
}

}  // namespace

NODE_API_MODULE(jail, Init)
