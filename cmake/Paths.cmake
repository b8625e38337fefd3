# Installation directories that other files (unit templates, unitgen defaults) refer to.
# systemd's own directories come from its pkg-config file, never hard-coded.
pkg_get_variable(_unitdir systemd systemdsystemunitdir)
pkg_get_variable(_gendir systemd systemdsystemgeneratordir)
pkg_get_variable(_sysusersdir systemd sysusersdir)
# When installing under a prefix other than /usr (tests, staging), keep systemd's layout
# relative to that prefix so nothing escapes it.
foreach(_v unitdir gendir sysusersdir)
  if(NOT _${_v})
    message(FATAL_ERROR "systemd.pc does not define ${_v}: is the systemd package installed?")
  endif()
endforeach()
set(TCS_SYSTEMD_UNIT_DIR "${_unitdir}" CACHE PATH "systemd system unit directory")
set(TCS_SYSTEMD_GENERATOR_DIR "${_gendir}" CACHE PATH "systemd system generator directory")
set(TCS_SYSUSERS_DIR "${_sysusersdir}" CACHE PATH "sysusers.d directory")
set(TCS_SERVICE_BIN_DIR "${CMAKE_INSTALL_FULL_LIBEXECDIR}/tcs" CACHE PATH
    "where built-in service binaries are installed (registry value ~)")
set(TCS_CONFIG_PATH "/etc/tcs/services.yaml" CACHE FILEPATH "default services.yaml")
set(TCS_USER "tcs" CACHE STRING "user the services run as")
