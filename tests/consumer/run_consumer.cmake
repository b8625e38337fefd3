# cmake -P script: install, configure the consumer against the install, build, run.
file(REMOVE_RECURSE ${WORK_DIR})
# Stage with DESTDIR: unit files, the generator link and sysusers.d have absolute
# destinations (systemd's directories) that --prefix alone would write into the real system.
set(stage ${WORK_DIR}/stage)
execute_process(COMMAND ${CMAKE_COMMAND} -L -N ${TCS_BUILD_DIR} OUTPUT_VARIABLE cache)
string(REGEX MATCH "CMAKE_INSTALL_PREFIX:PATH=([^\n]*)" _ "${cache}")
set(prefix ${stage}${CMAKE_MATCH_1})
foreach(component runtime dev)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${stage}
                          ${CMAKE_COMMAND} --install ${TCS_BUILD_DIR} --component ${component}
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(rc)
    message(FATAL_ERROR "installing component ${component} failed: ${rc}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "find_package(tcs) consumer failed to configure")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "consumer failed to build")
endif()
# The staged libraries are not on the loader's path, and RUNPATH reaches only the binary's own
# NEEDED entries, not libtcs.so's (libtcs-protocol.so): point the loader at the stage.
file(GLOB_RECURSE staged_libtcs ${prefix}/libtcs.so.${TCS_SOVERSION})
list(GET staged_libtcs 0 staged_libtcs)
get_filename_component(staged_libdir ${staged_libtcs} DIRECTORY)
# The service runs until stopped; `cycles: 1` makes it do one cycle and exit 0.
file(WRITE ${WORK_DIR}/services.yaml
     "services:\n  - {type: dome_follower_svc.dome_follower, variant: ci, cycles: 1, dome_speed: 30}\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${staged_libdir}
                        ${WORK_DIR}/build/dome_follower ${WORK_DIR}/services.yaml ci --no-banner
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0 OR NOT err MATCHES "following the dome at 30 deg/s")
  message(FATAL_ERROR "consumer service did not run: rc=${rc}\n${err}")
endif()
message(STATUS "consumer built with find_package(tcs) and ran: ${err}")
