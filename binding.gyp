{
  "targets": [
    {
      "target_name": "jail",
      "sources": ["native/binding.cc", "native/jail.c", "native/supervisor.c", "native/warm.c", "native/rmtree.c", "native/scan.c", "native/ns.c", "native/view.c", "native/observe.c", "native/peer.c"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "actions": [
        {
          "//": ["The init helper (native/init.c, no libc) as a header of bytes: ns.c puts it in a memfd."],
          "action_name": "init_helper",
          "inputs": ["native/init.c", "native/report.h", "native/embed-init.mjs"],
          "outputs": ["<(INTERMEDIATE_DIR)/init-helper.h"],
          "action": ["node", "native/embed-init.mjs", "native/init.c", "<(INTERMEDIATE_DIR)/init-helper.h"]
        }
      ],
      "include_dirs": ["<(INTERMEDIATE_DIR)"],
      "//": [
        "Warnings as errors: bubblewrap's list (meson.build), for C and, where",
        "it means something, C++. Left out: -Werror=missing-include-dirs, since",
        "node-gyp itself names include dirs that a distribution's node headers",
        "lack. C++ leaves out what only C has, -Wmissing-declarations (node's",
        "NODE_API_MODULE trips it) and -Wswitch-enum (node-addon-api's switches);",
        "node-addon-api is a system include so its own shadowing does not count."
      ],
      "cflags": [
        "-Wall", "-Wextra", "-Werror=shadow", "-Werror=empty-body", "-Werror=pointer-arith",
        "-Werror=init-self", "-Werror=return-type", "-Werror=overflow", "-Werror=parentheses",
        "-Werror=misleading-indentation", "-Werror=switch-default",
        "-Werror=format=2", "-Werror=format-security", "-Werror=format-nonliteral"
      ],
      "cflags_c": [
        "-std=gnu11", "-Werror=strict-prototypes", "-Werror=missing-prototypes",
        "-Werror=missing-declarations", "-Werror=implicit-function-declaration",
        "-Werror=int-conversion", "-Werror=incompatible-pointer-types",
        "-Werror=aggregate-return", "-Wswitch-enum"
      ],
      "cflags_cc": [
        "-std=c++17", "-fexceptions",
        "-isystem", "<!(node -p \"require('path').resolve(require('node-addon-api').include_dir)\")"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
