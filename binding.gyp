{
  "targets": [
    {
      "target_name": "jail",
      "sources": ["native/binding.cc", "native/jail.c", "native/supervisor.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
