# Warnings every Domus target builds with; warnings clean is the rule.
add_library(domus_warnings INTERFACE)
target_compile_options(domus_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

# domus_add_plugin(NAME [OUTPUT_DIR DIR] SOURCES...): a driver plugin, target
# domus_plugin_NAME, a dlopen-able MODULE named NAME.so in the build tree's plugin folder
# (or DIR), exporting only domus_driver_entry.
function(domus_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "" ${ARGN})
  set(bundled FALSE)
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${DOMUS_BUILD_PLUGIN_DIR})
    set(bundled TRUE)
  endif()
  set(target domus_plugin_${name})
  add_library(${target} MODULE ${P_UNPARSED_ARGUMENTS})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  target_link_libraries(${target} PRIVATE domus_driver_abi domus_warnings)
  # Static libraries linked in stay private to the plugin.
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/plugin.map)
  if(bundled)
    install(TARGETS ${target} LIBRARY DESTINATION ${DOMUS_INSTALL_PLUGIN_DIR})
  endif()
endfunction()
