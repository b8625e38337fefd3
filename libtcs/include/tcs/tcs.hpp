// SPDX-License-Identifier: MIT
#pragma once

// Everything a service needs: the base classes, TCS_SERVICE, settings, logging, status.
#include "tcs/config.hpp"
#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/main.hpp"
#include "tcs/service.hpp"
#include "tcs/status.hpp"
#include "tcs/unit_name.hpp"
