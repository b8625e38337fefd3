// SPDX-License-Identifier: MIT
#pragma once

/**
 * @file
 * TCS_API marks what libtcs's shared libraries export. They are built with hidden visibility
 * (and a version script that exports only `tcs::` names), so a class or function without
 * TCS_API is private to its library whatever header declares it. Every name marked here is
 * part of the ABI that libtcs/abi/README.md promises; tests/abi checks the exported list.
 */
#if defined(__GNUC__) || defined(__clang__)
#define TCS_API __attribute__((visibility("default")))
#else
#define TCS_API
#endif

/**
 * TCS_LOCAL keeps a member of an exported class out of the ABI: private constructors and
 * functions that only the library calls, and the definitions of pimpl `Impl` classes (a nested
 * class takes its enclosing class's visibility unless told otherwise).
 */
#if defined(__GNUC__) || defined(__clang__)
#define TCS_LOCAL __attribute__((visibility("hidden")))
#else
#define TCS_LOCAL
#endif
