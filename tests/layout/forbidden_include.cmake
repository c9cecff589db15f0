# Proves once that the compiler enforces a room's boundary (cmake/DomusBoundaries.cmake):
# a scratch copy of the sources, configured without tests and benchmarks, gets
# `#include <caf/actor.hpp>` in the persistence room, and compiling that file must fail
# with the stub's message. The same file compiles without the line, so the failure is the
# include's.
#
# cmake -DSOURCE_DIR=... -DSCRATCH_DIR=... -P forbidden_include.cmake
foreach(var SOURCE_DIR SCRATCH_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${SCRATCH_DIR})
file(MAKE_DIRECTORY ${SCRATCH_DIR}/src)
foreach(item CMakeLists.txt cmake conf errors protocol model runtime plugins cli)
  file(COPY ${SOURCE_DIR}/${item} DESTINATION ${SCRATCH_DIR}/src)
endforeach()

execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SCRATCH_DIR}/src -B ${SCRATCH_DIR}/build -G Ninja
          -DDOMUS_ENABLE_TESTS=OFF -DDOMUS_ENABLE_BENCHMARKS=OFF
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the scratch copy did not configure:\n${out}")
endif()

set(object runtime/CMakeFiles/domus_persist.dir/persist/store.cpp.o)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${SCRATCH_DIR}/build --target ${object}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "persist/store.cpp does not compile even untouched:\n${out}")
endif()

set(victim ${SCRATCH_DIR}/src/runtime/persist/store.cpp)
file(READ ${victim} text)
file(WRITE ${victim} "#include <caf/actor.hpp>\n${text}")
execute_process(COMMAND ${CMAKE_COMMAND} --build ${SCRATCH_DIR}/build --target ${object}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "a CAF include in the persistence room compiled: the boundary is not enforced")
endif()
if(NOT out MATCHES "no CAF in domus_persist")
  message(FATAL_ERROR "the build failed, but not on the boundary:\n${out}")
endif()
file(REMOVE_RECURSE ${SCRATCH_DIR})
message(STATUS "a CAF include in runtime/persist stops the build: \"no CAF in domus_persist\"")
