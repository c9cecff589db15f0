# The layering rules (docs/architecture.md, "Rooms"), enforced by the compiler. Debian
# installs the headers of CAF, libuv and ZeroMQ in /usr/include, which every target
# searches, so an include path cannot keep them out. Instead each library that must not
# use one gets, first on its include path, a folder of stubs with the same names, each an
# #error naming the rule: `#include <caf/actor.hpp>` in the persistence room then stops
# the build with "no CAF in domus_persist". tests/layout checks the #include lines of
# every source against the same rules, and proves once that a stub stops a build.

# Every header of each forbidden family, relative to its include folder.
file(GLOB_RECURSE _domus_caf_headers RELATIVE ${CAF_INCLUDE_DIR}
     ${CAF_INCLUDE_DIR}/caf/*.hpp)
find_path(_domus_uv_dir uv.h REQUIRED)
file(GLOB_RECURSE _domus_uv_headers RELATIVE ${_domus_uv_dir} ${_domus_uv_dir}/uv/*.h)
list(APPEND _domus_uv_headers uv.h)
set(_domus_zmq_headers zmq.h zmq_utils.h zmq.hpp zmq_addon.hpp)

# domus_forbid(TARGET FAMILY...): FAMILY is CAF, LIBUV or ZEROMQ.
function(domus_forbid target)
  set(dir ${CMAKE_BINARY_DIR}/forbidden/${target})
  foreach(family IN LISTS ARGN)
    if(family STREQUAL "CAF")
      set(headers ${_domus_caf_headers})
    elseif(family STREQUAL "LIBUV")
      set(headers ${_domus_uv_headers})
    elseif(family STREQUAL "ZEROMQ")
      set(headers ${_domus_zmq_headers})
    else()
      message(FATAL_ERROR "domus_forbid: unknown family ${family}")
    endif()
    foreach(h IN LISTS headers)
      set(text "#error \"no ${family} in ${target}: <${h}> is outside its room (docs/architecture.md, Rooms)\"\n")
      # Written only when it changes, so that a reconfigure rebuilds nothing.
      if(EXISTS ${dir}/${h})
        file(READ ${dir}/${h} old)
      else()
        set(old "")
      endif()
      if(NOT old STREQUAL text)
        file(WRITE ${dir}/${h} "${text}")
      endif()
    endforeach()
  endforeach()
  target_include_directories(${target} BEFORE PRIVATE ${dir})
endfunction()
