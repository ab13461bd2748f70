# The inter-host wire across network namespaces (tests/fabric/lib.sh).
# Included by tests/CMakeLists.txt; paths relative to this file.
add_executable(wire_test ${CMAKE_CURRENT_LIST_DIR}/wire_test.c
  ${CMAKE_CURRENT_LIST_DIR}/wire_test_flows.c)
target_link_libraries(wire_test PRIVATE xenib_fabric_wire)
add_executable(wire_hostile ${CMAKE_CURRENT_LIST_DIR}/wire_hostile.c)
target_link_libraries(wire_hostile PRIVATE xenib_fabric_wire)
add_test(NAME fabric_wire
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_wire.sh
                 $<TARGET_FILE:wire_test> $<TARGET_FILE:wire_hostile>)
# Root and network namespaces, or 77 (skipped).  Timing-sensitive only in
# its bounds (keepalive detection), so keep it off the other tests' cores.
set_tests_properties(fabric_wire PROPERTIES TIMEOUT 120 LABELS fabric
                     SKIP_RETURN_CODE 77 RUN_SERIAL ON)
if(SHELLCHECK)
  add_test(NAME shellcheck_fabric
           COMMAND ${SHELLCHECK} -x -S warning tests/fabric/lib.sh
                   tests/fabric/test_wire.sh bench/wire_bench.sh
                   tests/fabric/cluster.sh tests/fabric/test_fabric.sh
                   tests/fabric/test_fabric_errors.sh
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(shellcheck_fabric PROPERTIES TIMEOUT 60 LABELS lint)
endif()
# The API in one process over loopback: no root, no namespaces.
add_executable(wire_unit ${CMAKE_CURRENT_LIST_DIR}/wire_unit.c)
target_link_libraries(wire_unit PRIVATE xenib_fabric_wire)
add_test(NAME fabric_wire_unit COMMAND wire_unit)
set_tests_properties(fabric_wire_unit PROPERTIES TIMEOUT 60 LABELS fabric)
