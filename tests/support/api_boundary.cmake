# The api/service boundary (docs/design.md): code in api/ reaches state
# only through the service layer. Fails, naming file and line, when a file
# under API_DIR includes the store, the journal or a lifecycle header, or
# calls store().
#   cmake -DAPI_DIR=<dir> -P api_boundary.cmake
if(NOT API_DIR)
  message(FATAL_ERROR "API_DIR is not set")
endif()
file(GLOB_RECURSE sources "${API_DIR}/*.h" "${API_DIR}/*.cc")
set(include_rule "^[ \t]*#[ \t]*include[ \t]*[\"<](storage/state_store\\.h|storage/journal\\.h|storage/journal_scan\\.h|lifecycle/)")
set(call_rule "[.>]store\\(\\)")
set(violations "")
foreach(src IN LISTS sources)
  file(STRINGS "${src}" lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "${include_rule}" OR line MATCHES "${call_rule}")
      string(APPEND violations "\n  ${src}:${n}: ${line}")
    endif()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "api/ must go through the service layer (Agent::queries(), "
                      "Agent methods), not the store, journal or lifecycle:${violations}")
endif()
list(LENGTH sources count)
message(STATUS "api/service boundary: ${count} files clean")
