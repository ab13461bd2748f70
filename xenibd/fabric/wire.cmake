# xenibd's inter-host wire (UCX UCP active messages, DESIGN.md 8.3), a library
# of its own that depends on nothing else in xenibd; xenibd, tests/fabric and
# bench link it.  Included by xenibd/CMakeLists.txt; paths are relative to this
# file, so xenibd/fabric/CMakeLists.txt can include(wire.cmake) instead.
find_package(PkgConfig REQUIRED)
pkg_check_modules(XENIB_UCX REQUIRED IMPORTED_TARGET ucx)

add_library(xenib_fabric_wire STATIC
  ${CMAKE_CURRENT_LIST_DIR}/wire_ctx.c
  ${CMAKE_CURRENT_LIST_DIR}/wire_cfg.c
  ${CMAKE_CURRENT_LIST_DIR}/wire_conn.c
  ${CMAKE_CURRENT_LIST_DIR}/wire_hello.c
  ${CMAKE_CURRENT_LIST_DIR}/wire_data.c)
target_link_libraries(xenib_fabric_wire PUBLIC PkgConfig::XENIB_UCX)
