#include "sim/fiber.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace sim;

namespace {

// Fibers that append to one log, so each test can assert the order in which code ran.
struct Chain {
  StackPool pool{64 * 1024};
  std::string log;
};

}  // namespace

TEST_CASE("fiber: resume runs the body until it yields, and again from there") {
  Chain c;
  Fiber* self = nullptr;
  Fiber f(c.pool, [&] {
    c.log += "a";
    self->yield();
    c.log += "b";
  });
  self = &f;
  f.resume();
  CHECK(c.log == "a");
  CHECK_FALSE(f.finished());
  f.resume();
  CHECK(c.log == "ab");
  CHECK(f.finished());
  CHECK_FALSE(f.running());
}

TEST_CASE("fiber: a handoff runs the other fiber, whose yield returns to the scheduler's resume") {
  Chain c;
  Fiber* fa = nullptr;
  Fiber* fb = nullptr;
  Fiber* fc = nullptr;
  Fiber a(c.pool, [&] {
    c.log += "a1 ";
    fa->handoff(*fb);  // b has never run: the handoff starts it
    c.log += "a2 ";
  });
  Fiber b(c.pool, [&] {
    c.log += "b1 ";
    fb->handoff(*fc);  // a chain: c yields to the scheduler for all three
    c.log += "b2 ";
    fb->yield();
    c.log += "b3 ";
  });
  Fiber cc(c.pool, [&] {
    c.log += "c1 ";
    fc->yield();
    c.log += "c2 ";
    fc->handoff(*fa);  // back into a fiber suspended in a handoff of its own
    c.log += "c3 ";
  });
  fa = &a;
  fb = &b;
  fc = &cc;

  a.resume();
  CHECK(c.log == "a1 b1 c1 ");
  CHECK_FALSE(a.running());
  CHECK_FALSE(b.running());
  CHECK_FALSE(cc.running());

  cc.resume();  // c hands off to a, which ends: a's end returns to this resume
  CHECK(c.log == "a1 b1 c1 c2 a2 ");
  CHECK(a.finished());
  CHECK_FALSE(cc.finished());
  CHECK_FALSE(cc.running());

  b.resume();
  CHECK(c.log == "a1 b1 c1 c2 a2 b2 ");
  b.resume();
  CHECK(b.finished());
  cc.resume();
  CHECK(cc.finished());
  CHECK(c.log == "a1 b1 c1 c2 a2 b2 b3 c3 ");
  CHECK(c.pool.outstanding() == 0);
}

TEST_CASE("fiber: a fiber suspended in a handoff is killed by unwinding, or by returning when asked") {
  Chain c;
  Fiber* fa = nullptr;
  Fiber* fb = nullptr;
  Fiber* fc = nullptr;
  struct Guard {
    std::string* log;
    ~Guard() { *log += "a-unwound "; }
  };
  Fiber a(c.pool, [&] {
    Guard g{&c.log};
    fa->handoff(*fb);
    c.log += "a-went-on ";
  });
  Fiber b(c.pool, [&] {
    fb->handoff(*fc, /*return_on_kill=*/true);
    c.log += "b-returned ";
  });
  Fiber cc(c.pool, [&] {
    fc->yield();
    c.log += "c-went-on ";
  });
  fa = &a;
  fb = &b;
  fc = &cc;
  a.resume();  // a -> b -> c, and c yields
  CHECK(c.log.empty());
  a.kill();
  CHECK(a.finished());
  CHECK(a.unwound());
  b.kill();
  CHECK(b.finished());
  CHECK_FALSE(b.unwound());
  cc.kill();
  CHECK(cc.finished());
  CHECK(cc.unwound());
  CHECK(c.log == "a-unwound b-returned ");
  CHECK(c.pool.outstanding() == 0);
}
