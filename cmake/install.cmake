# Install rules, the pkg-config file, the CMake package and the Debian package.
#
#   cmake --install build [--prefix DIR]   headers, libhypercore.so.0 (SONAME) -> 0.x.y,
#                                           libhypercore.a, bin/hypercore, hypercore(1),
#                                           hypercore.pc, lib/cmake/hypercore (hypercore::hypercore)
#   (cd build && cpack -G DEB)              hypercore_<version>_<arch>.deb (prefix /usr)
#
# Everything installed is relocatable: hypercore.pc finds its prefix from its own location
# (${pcfiledir}), the CMake package from its own, and the command finds the library through
# an $ORIGIN-relative RPATH, so `--prefix` may be chosen at install time.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(HC_INSTALL "Generate install rules and the Debian package" ON)
if(NOT HC_INSTALL OR NOT HC_SHARED)
  return()
endif()

set(HC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hypercore)
set(HC_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- headers
install(FILES ${PROJECT_SOURCE_DIR}/include/hypercore.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hypercore
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

# ---- libraries: hypercore::hypercore (shared) and hypercore::hypercore_static
foreach(t hypercore hypercore_shared)
  target_include_directories(${t} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
set_target_properties(hypercore_shared PROPERTIES EXPORT_NAME hypercore)
set_target_properties(hypercore PROPERTIES EXPORT_NAME hypercore_static)
target_link_libraries(hypercore PUBLIC $<INSTALL_INTERFACE:PkgConfig::hypercore_sodium>
                                       $<INSTALL_INTERFACE:PkgConfig::hypercore_zlib>)
install(TARGETS hypercore_shared EXPORT hypercoreTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS hypercore EXPORT hypercoreStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT hypercoreTargets NAMESPACE hypercore:: DESTINATION ${HC_CMAKE_DIR})
install(EXPORT hypercoreStaticTargets NAMESPACE hypercore:: DESTINATION ${HC_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hypercoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hypercoreConfig.cmake INSTALL_DESTINATION ${HC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hypercoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hypercoreConfig.cmake
              ${PROJECT_BINARY_DIR}/hypercoreConfigVersion.cmake
        DESTINATION ${HC_CMAKE_DIR})

# ---- pkg-config: prefix relative to the .pc file itself
file(RELATIVE_PATH HC_PC_RELPREFIX ${CMAKE_INSTALL_PREFIX}/${HC_PC_DIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HC_PC_RELPREFIX "${HC_PC_RELPREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/hypercore.pc.in ${PROJECT_BINARY_DIR}/hypercore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hypercore.pc DESTINATION ${HC_PC_DIR})

# ---- the command and its man page
if(TARGET hypercore_cli)
  file(RELATIVE_PATH HC_BIN_TO_LIB ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}
       ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
  set_target_properties(hypercore_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${HC_BIN_TO_LIB}")
  install(TARGETS hypercore_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/docs/hypercore.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# ---- Debian package (cpack -G DEB): one package with the library, headers and command.
set(CPACK_PACKAGE_NAME hypercore)
set(CPACK_PACKAGE_VENDOR "libhypercore")
set(CPACK_PACKAGE_CONTACT "libhypercore maintainers <libhypercore@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Hypercore signed append-only logs: C library, headers and the hypercore command")
set(CPACK_PACKAGE_DESCRIPTION
    "libhypercore is a C11 implementation of Hypercore, byte-compatible on disk with JS\n\
hypercore 10 and replicating with JS hypercore 10 and 11. This package holds the shared\n\
and static library, the headers, pkg-config and CMake files, and the hypercore command.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)      # Depends from dpkg-shlibdeps (libsodium23, zlib1g, libc6)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON) # a shlibs file and the ldconfig trigger
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
include(CPack)

# ---- tests of all this (install into a temporary prefix, symbols, man page, package)
if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  add_subdirectory(${PROJECT_SOURCE_DIR}/tests/install ${PROJECT_BINARY_DIR}/tests/install)
endif()
