// SPDX-License-Identifier: MIT
// tcs on a 3-node nats-server cluster with clustered JetStream (tests/support/nats_cluster.hpp),
// all on loopback: the protocol's streams at `nats.stream_replicas` replicas (created, raised
// from R1, never shrunk or deleted), and a node killed (SIGKILL) under a burst of status changes
// and registry events — every one stored exactly once, and the control client's snapshot
// answering throughout. Skipped without nats-server. No blind sleeps: polling with deadlines.
#include "nats_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nats_server.hpp"
#include "supervisor.hpp"
#include "tcs/control.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/monitor.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::StreamOutcome;
using tcs::StreamSpec;
using tcs::test::NatsCluster;
using tcs::test::NatsServer;
using tcs::test::TempDir;
using tcs::test::waitUntil;
namespace p = tcs::protocol;

double millisecondsOf(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/** What a stream looks like from the outside (a plain nats.c connection). */
struct StreamState {
  bool exists = false;
  std::int64_t replicas = 0;  ///< configured
  int peers = 0;              ///< current followers the leader reports
  std::string leader;
  std::uint64_t messages = 0;
  std::uint64_t firstSeq = 0;
  std::uint64_t lastSeq = 0;
};

/** A plain nats.c connection to the cluster: the test's independent view. */
class RawCluster {
 public:
  explicit RawCluster(const std::vector<std::string>& urls) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    std::vector<const char*> servers;
    for (const auto& u : urls) servers.push_back(u.c_str());
    natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size()));
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 100);
    const natsStatus s = natsConnection_Connect(&nc_, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) throw std::runtime_error("raw connect failed");
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;
    if (natsConnection_JetStream(&js_, nc_, &jo) != NATS_OK) throw std::runtime_error("raw JetStream failed");
  }
  ~RawCluster() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  RawCluster(const RawCluster&) = delete;
  RawCluster& operator=(const RawCluster&) = delete;

  void addStream(const char* name, const char* subject, int replicas) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = name;
    const char* subjects[] = {subject};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = replicas;
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    const natsStatus s = js_AddStream(&info, js_, &config, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (s != NATS_OK) throw std::runtime_error(std::string("js_AddStream: ") + natsStatus_GetText(s));
  }

  void publish(const char* subject, const std::string& data) {
    jsPubAck* ack = nullptr;
    const natsStatus s = js_Publish(&ack, js_, subject, data.data(), static_cast<int>(data.size()), nullptr, nullptr);
    jsPubAck_Destroy(ack);
    if (s != NATS_OK) throw std::runtime_error(std::string("js_Publish: ") + natsStatus_GetText(s));
  }

  StreamState state(const char* stream) {
    StreamState st;
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    if (js_GetStreamInfo(&info, js_, stream, nullptr, &code) != NATS_OK) return st;
    st.exists = true;
    st.replicas = info->Config->Replicas;
    st.messages = info->State.Msgs;
    st.firstSeq = info->State.FirstSeq;
    st.lastSeq = info->State.LastSeq;
    if (info->Cluster != nullptr) {
      st.leader = info->Cluster->Leader != nullptr ? info->Cluster->Leader : "";
      for (int i = 0; i < info->Cluster->ReplicasLen; ++i)
        if (info->Cluster->Replicas[i]->Current && !info->Cluster->Replicas[i]->Offline) ++st.peers;
    }
    jsStreamInfo_Destroy(info);
    return st;
  }

  /** @return every stored message's data, in sequence order */
  std::vector<std::string> messages(const char* stream) {
    const auto st = state(stream);
    std::vector<std::string> out;
    for (auto seq = st.firstSeq; st.messages > 0 && seq <= st.lastSeq; ++seq) {
      natsMsg* m = nullptr;
      jsErrCode code{};
      if (js_GetMsg(&m, js_, stream, seq, nullptr, &code) != NATS_OK) continue;
      out.emplace_back(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
      natsMsg_Destroy(m);
    }
    return out;
  }

  /** @return the node a last-per-subject consumer on @p filter was placed on ("" when it could
   *  not be made) and how many messages it had pending at its creation (its copy's subjects) */
  std::pair<std::string, std::uint64_t> lastPerSubjectCount(const char* filter) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Config.DeliverPolicy = js_DeliverLastPerSubject;
    so.Config.AckPolicy = js_AckNone;
    so.Config.FilterSubject = filter;
    so.Config.MemoryStorage = true;
    natsSubscription* sub = nullptr;
    jsErrCode code{};
    if (js_PullSubscribe(&sub, js_, filter, nullptr, nullptr, &so, &code) != NATS_OK) return {};
    std::pair<std::string, std::uint64_t> out;
    jsConsumerInfo* ci = nullptr;
    if (natsSubscription_GetConsumerInfo(&ci, sub, nullptr, &code) == NATS_OK) {
      if (ci->Cluster != nullptr && ci->Cluster->Leader != nullptr) out = {ci->Cluster->Leader, ci->NumPending};
      jsConsumerInfo_Destroy(ci);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return out;
  }

  /** @brief Asks the stream's leader to step down (a new one is elected among the others). */
  bool stepDown(const std::string& stream) {
    natsMsg* reply = nullptr;
    const auto subject = "$JS.API.STREAM.LEADER.STEPDOWN." + stream;
    const natsStatus s = natsConnection_Request(&reply, nc_, subject.c_str(), "", 0, 2000);
    natsMsg_Destroy(reply);
    return s == NATS_OK;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

class ANatsCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    TCS_SKIP_WITHOUT_NATS_SERVER();
    cluster_ = std::make_unique<NatsCluster>(dir_.path() / "cluster", 3);
    cluster_->start();
  }

  tcs::config::NatsConfig natsConfig() const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.servers = cluster_->urls();  // nats.servers: every node
    return c;
  }
  std::unique_ptr<tcs::NatsConnection> connect(const std::string& name) const {
    tcs::NatsOptions o;
    o.name = name;
    o.reconnectWaitMin = 100ms;
    o.reconnectWaitMax = 100ms;
    return std::make_unique<tcs::NatsConnection>(natsConfig(), o);
  }
  /// The supervisor's streams (protocolStreams) at @p replicas, as Daemon::ensureStreams makes them.
  static std::vector<StreamSpec> protocolStreams(int replicas) {
    auto specs = tcs::supervisor::protocolStreams(tcs::supervisor::SupervisorOptions{}, "svc");
    for (auto& s : specs) s.replicas = replicas;
    return specs;
  }
  static int portOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }
  /// Creates the protocol's streams at 3 replicas and waits until each has both followers.
  static void createProtocolStreams(tcs::JetStreamAdmin& admin, RawCluster& raw) {
    for (const auto& spec : protocolStreams(3)) {
      ASSERT_EQ(admin.ensureStream(spec), StreamOutcome::Created);
      ASSERT_TRUE(waitUntil([&] { return raw.state(spec.name.c_str()).peers == 2; }, 20s)) << spec.name;
    }
  }
  /// Moves @p stream's leader to node @p name (a step-down elects one of the others at random).
  static bool moveLeader(RawCluster& raw, const std::string& stream, const std::string& name) {
    return waitUntil(
        [&] {
          const auto st = raw.state(stream.c_str());
          if (st.leader == name) return true;
          if (!st.leader.empty() && st.peers == 2) raw.stepDown(stream);
          return false;
        },
        20s, 200ms);
  }

  TempDir dir_;
  std::unique_ptr<NatsCluster> cluster_;
};

TEST_F(ANatsCluster, FormsWithAJetStreamMetaLeaderAndTakesAKilledNodeBack) {
  EXPECT_GE(cluster_->metaLeader(), 0);
  cluster_->node(2).kill();
  EXPECT_TRUE(cluster_->waitFormed(20s)) << cluster_->logs();  // two of three keep a quorum
  cluster_->restart(2);
  EXPECT_TRUE(cluster_->node(2).running());
  EXPECT_GE(cluster_->metaLeader(), 0);
}

TEST_F(ANatsCluster, CreatesTheProtocolStreamsWithThreeReplicas) {
  auto nats = connect("supervisor");
  tcs::JetStreamAdmin admin(*nats);
  RawCluster raw(cluster_->urls());
  for (const auto& spec : protocolStreams(3)) {
    EXPECT_EQ(admin.ensureStream(spec), StreamOutcome::Created) << spec.name;
    EXPECT_TRUE(waitUntil([&] { return raw.state(spec.name.c_str()).peers == 2; }, 20s)) << spec.name;
    EXPECT_EQ(raw.state(spec.name.c_str()).replicas, 3) << spec.name;
    EXPECT_EQ(admin.ensureStream(spec), StreamOutcome::Unchanged) << spec.name;
  }
}

TEST_F(ANatsCluster, RaisesAnR1StreamToThreeReplicasKeepingItsMessagesAndNeverShrinksOrDeletesIt) {
  RawCluster raw(cluster_->urls());
  raw.addStream("svc_status", "svc.status.>", 1);
  for (int i = 0; i < 10; ++i) raw.publish("svc.status.a", "before " + std::to_string(i));
  ASSERT_EQ(raw.state("svc_status").replicas, 1);

  auto nats = connect("supervisor");
  tcs::JetStreamAdmin admin(*nats);
  const auto spec = protocolStreams(3)[1];
  ASSERT_EQ(spec.name, "svc_status");
  EXPECT_EQ(admin.ensureStream(spec), StreamOutcome::Widened);
  EXPECT_TRUE(waitUntil([&] { return raw.state("svc_status").peers == 2; }, 20s));
  EXPECT_EQ(raw.state("svc_status").replicas, 3);
  EXPECT_EQ(raw.state("svc_status").messages, 10u);

  auto fewer = spec;
  fewer.replicas = 1;
  EXPECT_EQ(admin.ensureStream(fewer), StreamOutcome::Unchanged);  // never shrunk
  EXPECT_EQ(raw.state("svc_status").replicas, 3);

  auto impossible = spec;
  impossible.replicas = 5;  // more than the cluster has: refused by the server, logged, kept as it is
  EXPECT_EQ(admin.ensureStream(impossible), StreamOutcome::Unchanged);
  const auto after = raw.state("svc_status");
  EXPECT_TRUE(after.exists);
  EXPECT_EQ(after.replicas, 3);
  EXPECT_EQ(after.messages, 10u);
  EXPECT_EQ(raw.messages("svc_status").front(), "before 0");
}

TEST(AStandaloneNatsServer, GetsItsStreamsWithOneReplicaWhenThreeAreConfigured) {
  TCS_SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  NatsServer server(dir.path() / "server");
  server.start();
  tcs::config::NatsConfig c;
  c.present = true;
  c.host = "127.0.0.1";
  c.port = server.port();
  tcs::NatsConnection nats(c, {});
  StreamSpec spec{"svc_registry", "svc.registry.>", 0s, -1, 100};
  spec.replicas = 3;
  EXPECT_EQ(tcs::JetStreamAdmin(nats).ensureStream(spec), StreamOutcome::Created);
  RawCluster raw({server.url()});
  EXPECT_EQ(raw.state("svc_registry").replicas, 1);
}

// The point of the cluster: a node dies (SIGKILL) — the one the service is connected to, which
// also leads every stream — in the middle of a burst, and nothing is lost or doubled.
TEST_F(ANatsCluster, KeepsEveryStatusChangeAndRegistryEventExactlyOnceWhenANodeIsKilledMidBurst) {
  auto supervisor = connect("supervisor");
  tcs::JetStreamAdmin admin(*supervisor);
  RawCluster raw(cluster_->urls());
  createProtocolStreams(admin, raw);
  if (HasFatalFailure()) return;
  auto service = connect("test.burst");
  ASSERT_TRUE(waitUntil([&] { return service->connected() && supervisor->connected(); }));
  const int victim = cluster_->indexOfPort(portOf(service->connectedUrl()));
  ASSERT_GE(victim, 0);
  const auto victimName = NatsCluster::nodeName(victim);
  // Move every stream's leader onto the victim (a step-down elects one of the others at random).
  for (const auto& spec : protocolStreams(3)) {
    moveLeader(raw, spec.name, victimName);
    std::cout << spec.name << " leader: " << raw.state(spec.name.c_str()).leader << " (victim " << victimName << ")\n";
  }

  tcs::MonitorOptions mo;
  mo.name = "test.burst";
  mo.parent = "launcher.vm-systemd-launcher";
  tcs::Monitor monitor(mo, service.get());
  ASSERT_TRUE(monitor.flush(5s));
  ASSERT_TRUE(service->flush(10s));

  // The reader: tcsctl's snapshot over its own connection, as often as it can.
  auto reader = connect("tcsctl");
  tcs::control::ServiceControlClient client(*reader, "svc");
  std::atomic<bool> reading{true};
  std::atomic<int> snapshots{0};
  std::atomic<int> incomplete{0};
  double worstSnapshotMs = 0;
  std::thread readerThread([&] {
    while (reading) {
      const auto start = Clock::now();
      tcs::control::SnapshotOptions so;
      so.timeout = 5s;
      so.liveWindow = 500ms;
      const auto snap = client.snapshot(so);
      worstSnapshotMs = std::max(worstSnapshotMs, millisecondsOf(Clock::now() - start));
      ++snapshots;
      if (!snap.notes.empty()) ++incomplete;
    }
  });

  constexpr int kBurst = 300;
  constexpr int kKillAt = 100;
  const auto registryId = [](int i) { return "burst.s" + std::to_string(i); };
  const auto burstStart = Clock::now();
  for (int i = 0; i < kBurst; ++i) {
    if (i == kKillAt) cluster_->node(victim).kill();
    monitor.setStatus(i % 2 == 0 ? tcs::Status::Ok : tcs::Status::Busy, "step " + std::to_string(i));
    p::RegistryEvent e;
    e.serviceId = registryId(i);
    e.timestamp = p::now();
    e.specific = p::StartEvent{.status = tcs::Status::Startup, .hostname = "vm", .pid = 1000 + i};
    e.parent = "launcher.vm-systemd-launcher";
    e.runnerId = "vm-systemd-launcher.burst";
    supervisor->publishPersistent(p::registrySubject("svc", p::RegistryEventType::Start, e.serviceId),
                                  p::encode(e, p::processMetaGenerator().next()));
    std::this_thread::sleep_for(10ms);  // pacing of the burst (about 100 changes/s), not a wait for a condition
  }
  ASSERT_TRUE(monitor.flush(60s));
  const bool serviceFlushed = service->flush(60s);
  const bool supervisorFlushed = supervisor->flush(60s);
  const auto burstMs = millisecondsOf(Clock::now() - burstStart);
  // The reader keeps going a little past the failover: one more snapshot after the flush.
  const int before = snapshots;
  waitUntil([&] { return snapshots > before; }, 20s);
  reading = false;
  readerThread.join();
  EXPECT_TRUE(serviceFlushed);
  EXPECT_TRUE(supervisorFlushed);

  const auto count = [](const std::vector<std::string>& bodies, const std::string& needle) {
    return std::count_if(bodies.begin(), bodies.end(),
                         [&](const std::string& b) { return b.find(needle) != std::string::npos; });
  };
  const auto status = raw.messages("svc_status");
  const auto registry = raw.messages("svc_registry");
  int statusMissing = 0, statusDoubled = 0, registryMissing = 0, registryDoubled = 0;
  for (int i = 0; i < kBurst; ++i) {
    const auto s = count(status, "\"message\":\"step " + std::to_string(i) + "\"");
    const auto r = count(registry, "\"service_id\":\"" + registryId(i) + "\"");
    statusMissing += s == 0;
    statusDoubled += s > 1;
    registryMissing += r == 0;
    registryDoubled += r > 1;
  }
  const auto ss = service->stats();
  const auto sv = supervisor->stats();
  std::cout << "burst of " << kBurst << " status changes + " << kBurst << " registry events, node " << victimName
            << " killed at " << kKillAt << ": " << burstMs << " ms until flushed; stored " << status.size()
            << " status, " << registry.size() << " registry messages; missing " << statusMissing << "/"
            << registryMissing << ", doubled " << statusDoubled << "/" << registryDoubled << "; service acked "
            << ss.persistentAcked << " core " << ss.persistentCore << " unacked " << ss.persistentUnacked << " dropped "
            << ss.persistentDropped << "; supervisor acked " << sv.persistentAcked << " core " << sv.persistentCore
            << " unacked " << sv.persistentUnacked << " dropped " << sv.persistentDropped << "; reader: " << snapshots
            << " snapshots (" << incomplete << " incomplete), worst " << worstSnapshotMs << " ms\n";
  EXPECT_EQ(statusMissing, 0);
  EXPECT_EQ(statusDoubled, 0);
  EXPECT_EQ(registryMissing, 0);
  EXPECT_EQ(registryDoubled, 0);
  EXPECT_EQ(registry.size(), static_cast<std::size_t>(kBurst));
  EXPECT_LT(worstSnapshotMs, 15000.0);  // bounded: the snapshot's own 5 s plus the live window, twice at worst
  // The last snapshot shows the burst's end.
  // (A snapshot right after the election may still time out on a lagging stream leader: poll.)
  std::optional<tcs::FleetEntry> entry;
  EXPECT_TRUE(waitUntil(
      [&] {
        entry = client.getService("test.burst");
        return entry && entry->message == "step " + std::to_string(kBurst - 1);
      },
      30s))
      << (entry ? entry->message : std::string("no entry for test.burst"));

  // The killed node comes back and catches up.
  cluster_->restart(victim);
  EXPECT_TRUE(waitUntil([&] { return raw.state("svc_registry").peers == 2; }, 60s));
}

// tcsctl started just after the node leading a stream died: a request that reached the dead
// leader gets no answer at all, and the new one is elected 4–9 s later. The read asks again
// meanwhile (JetStreamReader's retries) instead of waiting its whole bound for a lost answer —
// before them, 2 reads in 8 here ended "JetStream did not answer within 30000 ms" (in one probe
// run, a new leader had been elected after 8.2 s).
TEST_F(ANatsCluster, ReadsAStreamRightAfterTheNodeLeadingItIsKilled) {
  auto supervisor = connect("supervisor");
  tcs::JetStreamAdmin admin(*supervisor);
  RawCluster raw(cluster_->urls());
  createProtocolStreams(admin, raw);
  if (HasFatalFailure()) return;
  constexpr int kStored = 20;
  for (int i = 0; i < kStored; ++i) raw.publish(("svc.registry.start.s" + std::to_string(i)).c_str(), "stored");
  auto reader = connect("tcsctl");
  ASSERT_TRUE(waitUntil([&] { return reader->connected(); }));
  const int victim = (cluster_->indexOfPort(portOf(reader->connectedUrl())) + 1) % cluster_->size();
  const auto victimName = NatsCluster::nodeName(victim);
  ASSERT_TRUE(moveLeader(raw, "svc_registry", victimName)) << "svc_registry's leader did not move to " << victimName;

  const auto killed = Clock::now();
  cluster_->node(victim).kill();
  int delivered = 0;
  const auto read = tcs::JetStreamReader(*reader).lastPerSubject(
      "svc.registry.>", 30s, [&](std::string_view, std::string_view body) { delivered += body == "stored"; });
  std::cout << "read " << millisecondsOf(Clock::now() - killed) << " ms after the leader " << victimName
            << " was killed: " << read.error << "\n";
  EXPECT_EQ(read.outcome, tcs::StreamReadOutcome::Read) << read.error;
  EXPECT_EQ(delivered, kStored);
}

// A cluster that lost its quorum has JetStream, but no leader to answer for it: tcsctl says so
// (before: "JetStream is not enabled on the server", as for a server without JetStream).
TEST_F(ANatsCluster, SaysJetStreamCannotAnswerWhenTheClusterLostItsQuorum) {
  auto reader = connect("tcsctl");
  ASSERT_TRUE(waitUntil([&] { return reader->connected(); }));
  const int mine = cluster_->indexOfPort(portOf(reader->connectedUrl()));
  for (int i = 0; i < cluster_->size(); ++i)
    if (i != mine) cluster_->node(i).kill();
  // Until it notices, the node left answers as before.
  ASSERT_TRUE(waitUntil([&] { return cluster_->metaLeader() < 0; }, 60s)) << cluster_->logs();
  tcs::control::ServiceControlClient client(*reader, "svc");
  tcs::control::SnapshotOptions so;
  so.timeout = 3s;
  so.liveWindow = 0ms;
  for (int k = 0; k < 3; ++k) {
    const auto snap = client.snapshot(so);
    EXPECT_FALSE(snap.jetstream);
    ASSERT_EQ(snap.notes.size(), 1u);
    std::cout << "note: " << snap.notes[0] << "\n";
    EXPECT_THAT(snap.notes[0], ::testing::AnyOf(::testing::HasSubstr("JetStream did not answer within"),
                                                ::testing::HasSubstr("JetStream cannot answer")));
    EXPECT_THAT(snap.notes[0], ::testing::HasSubstr("only live messages are shown"));
  }
}

// nats-server 2.9.10: a stream created with one replica and raised to three (as supervisors do,
// `nats.stream_replicas`): a node that got the messages stored before the raise by the raise's
// catch-up, killed and restarted, comes back without them — for good (seen for minutes; a
// follower in system.fleet, the leader here; killing the node that held the R1 stream does not). A consumer
// the cluster places there (at random, one in three) reads that copy without any error: in
// system.fleet a launcher's status was missing from tcsctl's snapshot 74 s after the restart.
// lastPerSubject() compares the consumer's count with the stream leader's and reads from another
// consumer, or says the read is short: never a silently short read.
TEST_F(ANatsCluster, NeverReadsARestartedReplicasShortCopyAsTheWholeStream) {
  auto supervisor = connect("supervisor");
  tcs::JetStreamAdmin admin(*supervisor);
  RawCluster raw(cluster_->urls());
  for (const auto& spec : protocolStreams(1)) ASSERT_EQ(admin.ensureStream(spec), StreamOutcome::Created);
  constexpr int kEarly = 5, kBusy = 30;
  for (int i = 0; i < kEarly; ++i) raw.publish(("svc.status.early" + std::to_string(i)).c_str(), "before the raise");
  for (int k = 0; k < 100; ++k) raw.publish(("svc.status.busy" + std::to_string(k % kBusy)).c_str(), "before");
  const auto r1Holder = raw.state("svc_status").leader;
  ASSERT_FALSE(r1Holder.empty());
  for (const auto& spec : protocolStreams(3)) {
    ASSERT_EQ(admin.ensureStream(spec), StreamOutcome::Widened);
    ASSERT_TRUE(waitUntil([&] { return raw.state(spec.name.c_str()).peers == 2; }, 20s)) << spec.name;
  }
  // The victim: a node that got the stream's first messages from the raise's catch-up (not the
  // one that held the R1 stream: killing that one leaves every copy whole).
  const int victim = r1Holder == NatsCluster::nodeName(0) ? 1 : 0;
  const auto victimName = NatsCluster::nodeName(victim);
  // Status changes go on throughout, as in a fleet.
  std::atomic<bool> publishing{true};
  std::thread publisher([&] {
    RawCluster p(cluster_->urls());
    for (int k = 0; publishing; ++k) {
      try {
        p.publish(("svc.status.busy" + std::to_string(k % kBusy)).c_str(), "busy " + std::to_string(k));
      } catch (const std::exception&) {  // no ack while the stream elects a leader: the next one
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  const auto stopPublishing = [&] {
    publishing = false;
    if (publisher.joinable()) publisher.join();
  };
  std::this_thread::sleep_for(1s);  // status changes stored by all three first (the scenario's)
  cluster_->node(victim).kill();
  ASSERT_TRUE(waitUntil([&] { return !raw.state("svc_status").leader.empty(); }, 20s));
  cluster_->restart(victim);
  ASSERT_TRUE(waitUntil([&] { return raw.state("svc_status").peers == 2; }, 20s));

  // The defect's precondition, seen through plain consumers: the restarted node's copy is short.
  std::map<std::string, int> replicaHolds;  // node → subjects its copy held, as a consumer there saw
  ASSERT_TRUE(waitUntil(
      [&] {
        const auto seen = raw.lastPerSubjectCount("svc.status.>");
        if (seen.first.empty()) return false;
        replicaHolds[seen.first] = static_cast<int>(seen.second);
        // The victim's copy seen, and the others whole (as the leader answers, they catch up).
        return replicaHolds.size() == 3 && std::all_of(replicaHolds.begin(), replicaHolds.end(), [&](const auto& h) {
                 return h.first == victimName || h.second == kEarly + kBusy;
               });
      },
      30s, 1ms))
      << "no consumer on every node, or a copy other than the restarted node's stayed short";
  for (const auto& [node, n] : replicaHolds) std::cout << node << "'s copy: " << n << " subjects\n";
  if (replicaHolds[victimName] == kEarly + kBusy) {
    stopPublishing();
    GTEST_SKIP() << "this nats-server's restarted replica holds every subject: the defect did not occur";
  }

  auto reader = connect("tcsctl");
  ASSERT_TRUE(waitUntil([&] { return reader->connected(); }));
  constexpr int kReads = 30;
  int whole = 0, saidShort = 0;
  for (int i = 0; i < kReads; ++i) {
    std::set<std::string> subjects;
    const auto read = tcs::JetStreamReader(*reader).lastPerSubject(
        "svc.status.>", 10s, [&](std::string_view subject, std::string_view) { subjects.emplace(subject); });
    if (read.outcome == tcs::StreamReadOutcome::Read) {
      EXPECT_EQ(subjects.size(), static_cast<std::size_t>(kEarly + kBusy)) << "read " << i << ": a silently short read";
      ++whole;
    } else {
      EXPECT_THAT(read.error, ::testing::HasSubstr("subjects its leader has, after 8 consumers")) << "read " << i;
      std::cout << "read " << i << ": " << read.error << "\n";
      ++saidShort;
    }
  }
  stopPublishing();
  std::cout << kReads << " reads: " << whole << " whole, " << saidShort << " said they were short\n";
  // Eight consumers all on the short copy: (1/3)^8 per read. A second copy may be short for a
  // while too (seen once: a follower resynchronised from its leader holds nothing meanwhile).
  EXPECT_GE(whole, kReads / 2);
}

}  // namespace
