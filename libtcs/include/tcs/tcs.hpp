// SPDX-License-Identifier: MIT
#pragma once

// Everything a service needs: the base classes, TCS_SERVICE, settings, logging, status, exit
// statuses. No runtime internals, no config loader, no NATS, no JetStream, no fleet view.
// A service that uses monitor() (children, metrics, health checks) adds tcs/monitor.hpp.
#include "tcs/error.hpp"
#include "tcs/exit_code.hpp"
#include "tcs/log.hpp"
#include "tcs/main.hpp"
#include "tcs/service.hpp"
#include "tcs/settings.hpp"
#include "tcs/status.hpp"
