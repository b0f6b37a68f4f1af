# CTest runs each doctest case by its name; doctest_discover_tests splits a name at ';' into two
# filters that match nothing, so such a case would "pass" without running. Every TEST_CASE name
# must therefore be free of ';'.
file(GLOB_RECURSE sources "${SRC}/*.cpp")
set(bad "")
foreach(f IN LISTS sources)
  file(STRINGS "${f}" lines REGEX "TEST_CASE\\(\"[^\"]*\;")
  foreach(l IN LISTS lines)
    string(APPEND bad "\n  ${f}: ${l}")
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names with ';' (CTest would run none of them):${bad}")
endif()
