# Run after a Boost.Test executable is built (domus_add_test in tests/CMakeLists.txt):
# asks it for its tests (--list_content) and writes OUTPUT, a file ctest includes, with
# one ctest entry per top-level suite (NAME.SUITE, --run_test=SUITE) and one per test case
# outside any suite (NAME.CASE), so that a failure names its suite and case.
#
#   cmake -DEXE=path -DNAME=name -DOUTPUT=file -DWORKDIR=dir -DLABELS=a;b -DTIMEOUT=s
#         -P BoostTestDiscover.cmake
execute_process(COMMAND "${EXE}" --list_content
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list_content failed (${rc}): ${err}")
endif()
# Boost 1.74 writes the tree to stderr: a line per unit, four spaces per level, '*' after
# the name when the unit is enabled, then ": DESCRIPTION" when it has one. Disabled units
# get no entry (naming one in --run_test would run it).
string(REPLACE "\n" ";" lines "${err}${out}")
set(units "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_]*)(\\*?)(:.*| *)$")
    if(CMAKE_MATCH_2 STREQUAL "*")
      list(APPEND units "${CMAKE_MATCH_1}") # a suite or a case of the master suite
    endif()
  elseif(NOT line MATCHES "^    " AND NOT line STREQUAL "")
    message(FATAL_ERROR "${EXE} --list_content: cannot read '${line}'")
  endif()
endforeach()
if(NOT units)
  message(FATAL_ERROR "${EXE} lists no tests")
endif()
set(text "# Written by cmake/BoostTestDiscover.cmake from ${EXE} --list_content\n")
foreach(u IN LISTS units)
  set(test "${NAME}.${u}")
  string(APPEND text "add_test(\"${test}\" \"${EXE}\" \"--run_test=${u}\")\n")
  string(APPEND text "set_tests_properties(\"${test}\" PROPERTIES")
  if(LABELS)
    string(APPEND text " LABELS \"${LABELS}\"")
  endif()
  if(TIMEOUT)
    string(APPEND text " TIMEOUT ${TIMEOUT}")
  endif()
  string(APPEND text " WORKING_DIRECTORY \"${WORKDIR}\")\n")
endforeach()
file(WRITE "${OUTPUT}" "${text}")
