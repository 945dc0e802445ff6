# Install rules for the libraries and the package files: find_package(threadleak)
# (threadleakConfig.cmake + exported targets) and pkg-config (threadleak-testing.pc).
# The CLI's own install(TARGETS threadleak ...) rule stays in analyzer/.
include(CMakePackageConfigHelpers)

set_target_properties(threadleak_analyzer PROPERTIES EXPORT_NAME analyzer)
install(TARGETS threadleak_analyzer threadleak_testing threadleak_testing_main
  EXPORT threadleakTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/analyzer/include/threadleak
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(_cfgdir ${CMAKE_INSTALL_LIBDIR}/cmake/threadleak)
install(EXPORT threadleakTargets NAMESPACE threadleak:: DESTINATION ${_cfgdir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/threadleakConfig.cmake.in
  ${PROJECT_BINARY_DIR}/threadleakConfig.cmake INSTALL_DESTINATION ${_cfgdir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/threadleakConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/threadleakConfig.cmake
              ${PROJECT_BINARY_DIR}/threadleakConfigVersion.cmake
        DESTINATION ${_cfgdir})

file(RELATIVE_PATH THREADLEAK_PC_TO_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" THREADLEAK_PC_TO_PREFIX "${THREADLEAK_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/threadleak-testing.pc.in
  ${PROJECT_BINARY_DIR}/threadleak-testing.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/threadleak-testing.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
