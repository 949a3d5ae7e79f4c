{
  "targets": [
    {
      "target_name": "udp_mmsg",
      "sources": ["udp-mmsg.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
