// model/fifo.hpp — the queue behind the model's wait queues, run queues and stopper work lists.
// SIM: the kernel links these with list_head; a std::deque would do, but it allocates a map and a
// block as soon as it is constructed, and most queues of a run are never used. This one holds
// its first `inline_n` entries in place (a completion or a stopper rarely has more waiters or works
// than that, and many are made per run), allocates only beyond them, and pops from the front in
// amortised O(1) (a head index, compacted when it passes half the storage).
#pragma once

#include <boost/container/small_vector.hpp>

#include <cstddef>
#include <utility>

namespace model {

template <class T, std::size_t inline_n = 2>
class fifo {
  using storage = boost::container::small_vector<T, inline_n>;

 public:
  using iterator = typename storage::iterator;
  using const_iterator = typename storage::const_iterator;

  bool empty() const { return head_ == v_.size(); }
  std::size_t size() const { return v_.size() - head_; }
  T& front() { return v_[head_]; }
  const T& front() const { return v_[head_]; }
  T& back() { return v_.back(); }
  const T& back() const { return v_.back(); }
  void push_back(T x) { v_.push_back(std::move(x)); }
  void pop_front() {
    if (++head_ == v_.size()) {
      clear();
    } else if (head_ >= 32 && 2 * head_ >= v_.size()) {
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  iterator begin() { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return v_.end(); }
  const_iterator begin() const { return v_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return v_.end(); }
  iterator erase(iterator it) { return v_.erase(it); }
  void clear() {
    v_.clear();
    head_ = 0;
  }

 private:
  storage v_;
  std::size_t head_ = 0;
};

}  // namespace model
