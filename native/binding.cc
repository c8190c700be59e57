// N-API glue: JS values in, a struct jail_plan out, errors back as objects
// shaped like Node's fs errors ({ code, errno, syscall, step, path }).
// Wording and hints are added in src/native/apply.ts.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <sys/utsname.h>

extern "C" {
#include "jail.h"
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
  struct jail_probe p;
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

// exec(plan): confine the calling thread and execve. Returns only by
// throwing: a failed step leaves this process partly confined, and the
// caller must exit rather than carry on.
Napi::Value Exec(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "exec(plan) takes one plan object");
  Napi::Object o = info[0].As<Napi::Object>();

  struct jail_plan plan;
  std::memset(&plan, 0, sizeof(plan));

  std::vector<std::string> paths;
  std::vector<jail_path_rule> pathRules;
  std::vector<jail_port_rule> portRules;
  Napi::Value ll = o.Get("landlock");
  if (ll.IsObject()) {
    Napi::Object l = ll.As<Napi::Object>();
    plan.has_landlock = 1;
    plan.attr.handled_access_fs = U64(l, "handledFs");
    plan.attr.handled_access_net = U64(l, "handledNet");
    plan.attr.scoped = U64(l, "scoped");
    plan.attr_size = static_cast<size_t>(U64(l, "attrSize"));
    if (plan.attr_size != JAIL_RULESET_ATTR_SIZE_V1 && plan.attr_size != JAIL_RULESET_ATTR_SIZE_V4 &&
        plan.attr_size != JAIL_RULESET_ATTR_SIZE_V6)
      throw Napi::TypeError::New(env, "landlock.attrSize must be 8, 16 or 24");
    plan.restrict_flags = static_cast<uint32_t>(U64(l, "restrictFlags"));
    Napi::Array pa = l.Get("paths").As<Napi::Array>();
    for (uint32_t i = 0; i < pa.Length(); i++) {
      Napi::Object r = pa.Get(i).As<Napi::Object>();
      paths.push_back(r.Get("path").As<Napi::String>().Utf8Value());
      pathRules.push_back({nullptr, U64(r, "access")});
    }
    for (size_t i = 0; i < paths.size(); i++) pathRules[i].path = paths[i].c_str();
    Napi::Array na = l.Get("ports").As<Napi::Array>();
    for (uint32_t i = 0; i < na.Length(); i++) {
      Napi::Object r = na.Get(i).As<Napi::Object>();
      portRules.push_back({U64(r, "port"), U64(r, "access")});
    }
    plan.paths = pathRules.data();
    plan.n_paths = pathRules.size();
    plan.ports = portRules.data();
    plan.n_ports = portRules.size();
  }

  std::vector<uint8_t> filter;
  Napi::Value sc = o.Get("seccomp");
  if (sc.IsTypedArray()) {
    Napi::Uint8Array b = sc.As<Napi::Uint8Array>();
    filter.assign(b.Data(), b.Data() + b.ByteLength());
    plan.filter = filter.data();
    plan.filter_len = filter.size();
  }

  plan.drop_caps = o.Get("dropCaps").ToBoolean().Value() ? 1 : 0;
  std::vector<int> keep;
  Napi::Value kf = o.Get("keepFds");
  if (kf.IsArray()) {
    Napi::Array a = kf.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) keep.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  }
  plan.keep_fds = keep.data();
  plan.n_keep_fds = keep.size();

  std::string file = o.Get("file").As<Napi::String>().Utf8Value();
  std::vector<std::string> argv = Strings(o.Get("argv"), "argv");
  std::vector<std::string> envp = Strings(o.Get("envp"), "envp");
  std::vector<char *> cargv = CStrings(argv);
  std::vector<char *> cenvp = CStrings(envp);
  plan.file = file.c_str();
  plan.argv = cargv.data();
  plan.envp = cenvp.data();

  struct jail_error e;
  std::memset(&e, 0, sizeof(e));
  if (jail_prepare(&plan, &e) < 0) {
    jail_release(&plan);
    throw ApplyError(env, e);
  }
  jail_enter(&plan, &e);
  jail_release(&plan);
  throw ApplyError(env, e);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("exec", Napi::Function::New(env, Exec));
  return exports;
}

}  // namespace

NODE_API_MODULE(jail, Init)
