// SPDX-License-Identifier: MIT
// tcsctl: the fleet from one terminal. Everything is in app.cpp (run()), which the tests call.
#include "app.hpp"

int main(int argc, char** argv) {
  auto terminal = tcs::ctl::processTerminal();
  return tcs::ctl::run({argv + 1, argv + argc}, terminal);
}
