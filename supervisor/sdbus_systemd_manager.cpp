// SPDX-License-Identifier: MIT
#include "sdbus_systemd_manager.hpp"

#include <fnmatch.h>
#include <pthread.h>
#include <sdbus-c++/sdbus-c++.h>

#include <cstdio>
#include <utility>

namespace tcs::supervisor {

namespace {

constexpr const char* kDestination = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
constexpr const char* kPropertiesMatch =
    "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.DBus.Properties',"
    "member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit'";

[[noreturn]] void rethrow(const sdbus::Error& e, const std::string& context) {
  throw SystemdError(e.getName(), e.getMessage(), context);
}

// Runs a D-Bus call, turning sdbus::Error into SystemdError with @p context.
template <typename F>
auto call(const std::string& context, F&& f) {
  try {
    return f();
  } catch (const sdbus::Error& e) {
    rethrow(e, context);
  }
}

std::optional<PropertyValue> toValue(const sdbus::Variant& v) {
  const std::string type = v.peekValueType();
  if (type == "b") return PropertyValue{v.get<bool>()};
  if (type == "y") return PropertyValue{std::uint64_t{v.get<std::uint8_t>()}};
  if (type == "n") return PropertyValue{std::int64_t{v.get<std::int16_t>()}};
  if (type == "q") return PropertyValue{std::uint64_t{v.get<std::uint16_t>()}};
  if (type == "i") return PropertyValue{std::int64_t{v.get<std::int32_t>()}};
  if (type == "u") return PropertyValue{std::uint64_t{v.get<std::uint32_t>()}};
  if (type == "x") return PropertyValue{v.get<std::int64_t>()};
  if (type == "t") return PropertyValue{v.get<std::uint64_t>()};
  if (type == "s") return PropertyValue{v.get<std::string>()};
  if (type == "o") return PropertyValue{std::string(v.get<sdbus::ObjectPath>())};
  if (type == "(aiai)") {
    const auto set = v.get<sdbus::Struct<std::vector<std::int32_t>, std::vector<std::int32_t>>>();
    return PropertyValue{ExitStatusSet{set.get<0>(), set.get<1>()}};
  }
  return std::nullopt;
}

bool isKnown(const std::string& interface, const std::string& name) {
  if (name == "Job") return interface == kUnitInterface;
  for (const auto& n : UnitSnapshot::propertyNames(interface))
    if (n == name) return true;
  return false;
}

}  // namespace

template <typename Callback, typename... Args>
void SdbusSystemdManager::deliver(const char* what, const Callback& callback, const Args&... args) noexcept {
  if (!callback) return;
  try {
    callback(args...);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcs-supervisor: the %s callback threw: %s\n", what, e.what());
  } catch (...) {
    std::fprintf(stderr, "tcs-supervisor: the %s callback threw a non-standard exception\n", what);
  }
}

SdbusSystemdManager::SdbusSystemdManager(Options options) : options_(std::move(options)) {
  connect();
}

SdbusSystemdManager::~SdbusSystemdManager() {
  stopping_ = true;
  if (connection_) {
    try {
      connection_->leaveEventLoop();  // wakes enterEventLoop() on loop_; it returns
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tcs-supervisor: leaving the D-Bus loop: %s\n", e.what());
    }
  }
  if (loop_.joinable()) loop_.join();
  std::unique_lock lock(connectionMutex_);
  disconnect();
}

void SdbusSystemdManager::connect() {
  const std::string what =
      options_.bus == Bus::System ? "connecting to the system bus" : "connecting to the session bus";
  call(what, [&] {
    connection_ =
        options_.bus == Bus::System ? sdbus::createSystemBusConnection() : sdbus::createSessionBusConnection();
    connection_->setMethodCallTimeout(options_.callTimeout);
    manager_ = sdbus::createProxy(*connection_, kDestination, kManagerPath);
    manager_->uponSignal("UnitNew")
        .onInterface(kManagerInterface)
        .call([this](const std::string& unit, const sdbus::ObjectPath& path) {
          if (!matches(unit)) return;
          remember(path, unit);
          deliver("unitNew", callbacks_.unitNew, UnitSignal{unit, path});
        });
    manager_->uponSignal("UnitRemoved")
        .onInterface(kManagerInterface)
        .call([this](const std::string& unit, const sdbus::ObjectPath& path) {
          {
            std::lock_guard lock(mutex_);
            unitOfPath_.erase(path);  // a later UnitNew maps it again; keeps transient units from piling up
          }
          if (!matches(unit)) return;
          deliver("unitRemoved", callbacks_.unitRemoved, UnitSignal{unit, path});
        });
    manager_->uponSignal("JobRemoved")
        .onInterface(kManagerInterface)
        .call(
            [this](std::uint32_t id, const sdbus::ObjectPath& job, const std::string& unit, const std::string& result) {
              if (!matches(unit)) return;
              deliver("jobRemoved", callbacks_.jobRemoved, JobRemoved{id, job, unit, result});
            });
    manager_->uponSignal("Reloading").onInterface(kManagerInterface).call([this](bool active) {
      deliver("reloading", callbacks_.reloading, active);
    });
    manager_->finishRegistration();
    propertiesMatch_ =
        connection_->addMatch(kPropertiesMatch, [this](sdbus::Message& message) { onPropertiesChanged(message); });
  });
}

void SdbusSystemdManager::disconnect() noexcept {
  // Proxies and the match reference the connection: release them first.
  propertiesMatch_.reset();
  {
    std::lock_guard lock(mutex_);
    unitProxies_.clear();
    unitOfPath_.clear();
  }
  manager_.reset();
  connection_.reset();
}

std::shared_lock<std::shared_mutex> SdbusSystemdManager::use(const std::string& context) const {
  std::shared_lock lock(connectionMutex_);
  if (!manager_)
    throw SystemdError("org.tcs.Error.NotConnected", "not connected to the bus (lost; reconnecting)", context);
  return lock;
}

void SdbusSystemdManager::setCallbacks(SystemdCallbacks callbacks) {
  callbacks_ = std::move(callbacks);
}

void SdbusSystemdManager::subscribe() {
  const auto held = use("Subscribe");
  call("Subscribe", [&] { manager_->callMethod("Subscribe").onInterface(kManagerInterface).storeResultsTo(); });
  subscribed_ = true;
  startLoop();
}

void SdbusSystemdManager::startLoop() {
  if (loop_.joinable()) return;
  loop_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "tcs-dbus");  // for top -H, perf, gdb
    runLoop();
  });
}

void SdbusSystemdManager::runLoop() {
  std::string why;
  try {
    connection_->enterEventLoop();
    return;  // left on purpose (destructor)
  } catch (const sdbus::Error& e) {
    why = e.getName() + ": " + e.getMessage();
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!stopping_) deliver("busLost", callbacks_.busLost, why);
}

void SdbusSystemdManager::reconnect() {
  if (loop_.joinable()) {
    if (loop_.get_id() == std::this_thread::get_id())
      throw SystemdError("org.tcs.Error.WrongThread", "reconnect() called from a callback", "reconnect");
    connection_->leaveEventLoop();
    loop_.join();
  }
  {
    // Calls from other threads (RPC workers) hold the connection shared: wait for them (they
    // fail fast on a dead bus), then replace it. If connect() throws, calls fail with
    // NotConnected until a later reconnect() succeeds.
    std::unique_lock lock(connectionMutex_);
    disconnect();
    connect();
  }
  if (subscribed_) subscribe();
}

bool SdbusSystemdManager::matches(const std::string& unit) const {
  for (const auto& pattern : options_.unitPatterns)
    if (::fnmatch(pattern.c_str(), unit.c_str(), 0) == 0) return true;
  return false;
}

void SdbusSystemdManager::remember(const std::string& objectPath, const std::string& unit) {
  std::lock_guard lock(mutex_);
  unitOfPath_[objectPath] = matches(unit) ? unit : std::string();
}

sdbus::IProxy& SdbusSystemdManager::unitProxy(const std::string& objectPath) {
  std::lock_guard lock(mutex_);
  auto& proxy = unitProxies_[objectPath];
  if (!proxy) proxy = sdbus::createProxy(*connection_, kDestination, objectPath);
  return *proxy;
}

std::vector<UnitListEntry> SdbusSystemdManager::listUnitsByPatterns(const std::vector<std::string>& patterns) {
  using Row = sdbus::Struct<std::string, std::string, std::string, std::string, std::string, std::string,
                            sdbus::ObjectPath, std::uint32_t, std::string, sdbus::ObjectPath>;
  std::vector<Row> rows;
  const auto held = use("ListUnitsByPatterns");
  call("ListUnitsByPatterns", [&] {
    manager_->callMethod("ListUnitsByPatterns")
        .onInterface(kManagerInterface)
        .withArguments(std::vector<std::string>{}, patterns)
        .storeResultsTo(rows);
  });
  std::vector<UnitListEntry> units;
  units.reserve(rows.size());
  for (const auto& row : rows) {
    UnitListEntry e{row.get<0>(), row.get<1>(), row.get<2>(), row.get<3>(), row.get<4>(), row.get<6>(), row.get<7>()};
    remember(e.objectPath, e.name);
    units.push_back(std::move(e));
  }
  return units;
}

std::string SdbusSystemdManager::unitPath(const char* method, const std::string& name) {
  const std::string what = std::string(method) + " " + name;
  sdbus::ObjectPath path;
  const auto held = use(what);
  call(what,
       [&] { manager_->callMethod(method).onInterface(kManagerInterface).withArguments(name).storeResultsTo(path); });
  remember(path, name);
  return path;
}

std::string SdbusSystemdManager::loadUnit(const std::string& name) {
  return unitPath("LoadUnit", name);
}

std::string SdbusSystemdManager::getUnit(const std::string& name) {
  return unitPath("GetUnit", name);
}

UnitSnapshot SdbusSystemdManager::unitProperties(const std::string& objectPath) {
  UnitSnapshot snapshot;
  const auto held = use("GetAll " + objectPath);
  auto& proxy = unitProxy(objectPath);
  for (const std::string_view iface : {kServiceInterface, kUnitInterface}) {
    std::map<std::string, sdbus::Variant> values;
    call("GetAll " + std::string(iface) + " " + objectPath, [&] {
      proxy.callMethod("GetAll")
          .onInterface(kPropertiesInterface)
          .withArguments(std::string(iface))
          .storeResultsTo(values);
    });
    snapshot.apply(makeChange(snapshot.id, objectPath, std::string(iface), values, PropertyChange::Origin::Snapshot));
  }
  return snapshot;
}

void SdbusSystemdManager::requestUnitProperties(const std::string& unit, const std::string& objectPath,
                                                PropertyChange::Origin origin) {
  const auto held = use("GetAll " + objectPath);
  remember(objectPath, unit);
  auto& proxy = unitProxy(objectPath);
  // Service first, then Unit: the order of systemd's own signals.
  for (const std::string_view iface : {kServiceInterface, kUnitInterface}) {
    call("GetAll " + std::string(iface) + " " + objectPath, [&] {
      proxy.callMethodAsync("GetAll")
          .onInterface(kPropertiesInterface)
          .withArguments(std::string(iface))
          .uponReplyInvoke([this, unit, objectPath, origin, interface = std::string(iface)](
                               const sdbus::Error* error, const std::map<std::string, sdbus::Variant>& values) {
            if (error) {
              // The unit went away meanwhile (UnitRemoved follows) or the bus is closing.
              std::fprintf(stderr, "tcs-supervisor: GetAll %s %s: %s: %s\n", interface.c_str(), objectPath.c_str(),
                           error->getName().c_str(), error->getMessage().c_str());
              return;
            }
            deliver("propertiesChanged", callbacks_.propertiesChanged,
                    makeChange(unit, objectPath, interface, values, origin));
          });
    });
  }
}

std::string SdbusSystemdManager::unitOfPath(const std::string& objectPath) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = unitOfPath_.find(objectPath); it != unitOfPath_.end()) return it->second;
  }
  // A unit we have not seen yet (loaded before we subscribed, or a unit of another kind).
  // systemd's object path of a unit is its name with every byte outside [A-Za-z0-9] written
  // as _xx: decode it to know the unit without a call to PID 1 (a blocking Get on this thread
  // delays every signal behind it — hundreds of ms during a mass start). Paths are only ever
  // decoded, never built from names.
  if (const auto decoded = decodeUnitPath(objectPath)) {
    remember(objectPath, *decoded);
    return matches(*decoded) ? *decoded : std::string();
  }
  // A path that does not decode: ask it for its name once. Throwaway proxy: this runs on the
  // D-Bus thread only.
  std::string id;
  try {
    auto proxy = sdbus::createProxy(*connection_, kDestination, objectPath);
    id = proxy->getProperty("Id").onInterface(std::string(kUnitInterface)).get<std::string>();
  } catch (const sdbus::Error&) {
    return {};  // gone already; not cached
  }
  remember(objectPath, id);
  return matches(id) ? id : std::string();
}

std::optional<std::string> decodeUnitPath(std::string_view objectPath) {
  static constexpr std::string_view kPrefix = "/org/freedesktop/systemd1/unit/";
  if (!objectPath.starts_with(kPrefix)) return std::nullopt;
  const auto label = objectPath.substr(kPrefix.size());
  if (label.empty()) return std::nullopt;
  std::string name;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < label.size(); ++i) {
    if (label[i] != '_') {
      name += label[i];
      continue;
    }
    if (i + 2 >= label.size()) return std::nullopt;  // `_` needs two hex digits
    const int hi = hex(label[i + 1]), lo = hex(label[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    name += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return name;
}

PropertyChange SdbusSystemdManager::makeChange(const std::string& unit, const std::string& objectPath,
                                               const std::string& interface,
                                               const std::map<std::string, sdbus::Variant>& values,
                                               PropertyChange::Origin origin) {
  PropertyChange change{unit, objectPath, interface, {}, {}, origin};
  for (const auto& [name, value] : values) {
    if (!isKnown(interface, name)) continue;
    if (name == "Job") {
      if (value.peekValueType() != "(uo)") continue;
      const auto job = value.get<sdbus::Struct<std::uint32_t, sdbus::ObjectPath>>();
      change.changed["JobId"] = std::uint64_t{job.get<0>()};
      change.changed["JobPath"] = std::string(job.get<1>());
      continue;
    }
    if (auto v = toValue(value)) change.changed[name] = std::move(*v);
  }
  return change;
}

void SdbusSystemdManager::onPropertiesChanged(sdbus::Message& message) {
  try {
    const std::string path = message.getPath();
    std::string interface;
    std::map<std::string, sdbus::Variant> values;
    std::vector<std::string> invalidated;
    message >> interface >> values >> invalidated;
    if (interface != kUnitInterface && interface != kServiceInterface) return;
    const std::string unit = unitOfPath(path);
    if (unit.empty()) return;
    // systemd lists some properties as invalidated instead of sending them: read the ones we use.
    for (const auto& name : invalidated) {
      if (!isKnown(interface, name) || values.count(name)) continue;
      try {
        values[name] = unitProxy(path).getProperty(name).onInterface(interface);
      } catch (const sdbus::Error& e) {
        std::fprintf(stderr, "tcs-supervisor: Get %s.%s of %s: %s\n", interface.c_str(), name.c_str(), unit.c_str(),
                     e.getMessage().c_str());
      }
    }
    PropertyChange change = makeChange(unit, path, interface, values, PropertyChange::Origin::Signal);
    change.invalidated = std::move(invalidated);
    deliver("propertiesChanged", callbacks_.propertiesChanged, change);
  } catch (const sdbus::Error& e) {
    std::fprintf(stderr, "tcs-supervisor: malformed PropertiesChanged: %s\n", e.what());
  }
}

std::string SdbusSystemdManager::jobCall(const char* method, const std::string& name) {
  sdbus::ObjectPath job;
  const auto held = use(std::string(method) + " " + name);
  call(std::string(method) + " " + name, [&] {
    manager_->callMethod(method)
        .onInterface(kManagerInterface)
        .withArguments(name, std::string("replace"))
        .storeResultsTo(job);
  });
  return job;
}

std::string SdbusSystemdManager::startUnit(const std::string& name) {
  return jobCall("StartUnit", name);
}
std::string SdbusSystemdManager::stopUnit(const std::string& name) {
  return jobCall("StopUnit", name);
}
std::string SdbusSystemdManager::restartUnit(const std::string& name) {
  return jobCall("RestartUnit", name);
}

void SdbusSystemdManager::resetFailedUnit(const std::string& name) {
  const auto held = use("ResetFailedUnit " + name);
  call("ResetFailedUnit " + name, [&] {
    manager_->callMethod("ResetFailedUnit").onInterface(kManagerInterface).withArguments(name).storeResultsTo();
  });
}

void SdbusSystemdManager::reload() {
  const auto held = use("Reload");
  call("Reload", [&] {
    manager_->callMethod("Reload").onInterface(kManagerInterface).withTimeout(options_.reloadTimeout).storeResultsTo();
  });
}

}  // namespace tcs::supervisor
