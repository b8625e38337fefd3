// SPDX-License-Identifier: MIT
#pragma once

// Everything a service needs: the base classes, TCS_SERVICE, settings, logging, status, exit
// statuses. No runtime internals, no JetStream, no fleet view.
#include "tcs/config.hpp"
#include "tcs/error.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/main.hpp"
#include "tcs/service.hpp"
#include "tcs/status.hpp"
