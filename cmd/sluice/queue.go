// This file holds sluice queue: push URLs to a fetch queue on Redis, and
// show its counts.

package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/queue"
	"github.com/spf13/cobra"
)

// queueFlags are the flags every queue subcommand takes.
type queueFlags struct {
	redis redisFlags
	name  string
}

// add registers --redis and --queue; not --worker, which names a process
// that takes URLs, and push and stats take none.
func (q *queueFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&q.redis.url, "redis", "", "the Redis the queue is kept in (redis://HOST:PORT/DB)")
	cmd.Flags().StringVar(&q.name, "queue", "", "the queue's name")
}

func (q *queueFlags) check(cmd string) error {
	if !q.redis.on() || q.name == "" {
		return usageErrorf("queue %s: --redis and --queue are required", cmd)
	}
	return nil
}

func newQueueCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Fill and inspect a fetch queue on Redis for fetch --queue",
		Long: `queue fills a fetch queue kept in a Redis Stream, which any number of
sluice fetch --redis URL --queue NAME workers drain, and shows its counts.`,
		Example: `  sluice queue push --redis redis://127.0.0.1:6379/0 --queue jobs -i urls.txt
  sluice queue stats --redis redis://127.0.0.1:6379/0 --queue jobs`,
		RunE: groupRunE(e),
	}
	cmd.AddCommand(newQueuePushCmd(e), newQueueStatsCmd(e))
	return cmd
}

func newQueuePushCmd(e *env) *cobra.Command {
	var q queueFlags
	var inputs []string
	cmd := &cobra.Command{
		Use:   "push --redis URL --queue NAME [URL...] [-i FILE]",
		Short: "Append URLs to a fetch queue",
		Long: `push appends URLs, from the arguments, -i files or standard input when
neither is given, to the queue. Blank lines and lines starting with # are
skipped. It prints how many it pushed.`,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := q.check("push"); err != nil {
				return err
			}
			if len(args) == 0 && len(inputs) == 0 {
				inputs = []string{"-"}
				hintStdin(e, "queue push")
			}
			urls, err := readSeeds(cmd.Context(), "queue push", args, inputs, e.stdin)
			if err != nil {
				return err
			}
			client, err := q.redis.client(cmd.Context(), "queue push")
			if err != nil {
				return err
			}
			defer client.Close()
			if err := queue.New(client, q.name).Push(cmd.Context(), urls...); err != nil {
				return fmt.Errorf("queue push: %w", err)
			}
			fmt.Fprintf(e.stderr, "pushed %s to %s\n", plural(int64(len(urls)), "URL"), q.name)
			return nil
		}),
	}
	q.add(cmd)
	cmd.Flags().StringArrayVarP(&inputs, "input", "i", nil, "file of URLs, one per line; - for standard input (repeatable)")
	return cmd
}

// queueStats is the JSON sluice queue stats prints.
type queueStats struct {
	Queue     string          `json:"queue"`
	Queued    int64           `json:"queued"`
	Waiting   int64           `json:"waiting"`
	Taken     int64           `json:"taken"`
	Consumers []consumerStats `json:"consumers"`
}

type consumerStats struct {
	Worker string  `json:"worker"`
	Taken  int64   `json:"taken"`
	IdleS  float64 `json:"idle_s"`
}

func newQueueStatsCmd(e *env) *cobra.Command {
	var q queueFlags
	cmd := &cobra.Command{
		Use:   "stats --redis URL --queue NAME",
		Short: "Print a fetch queue's counts as JSON",
		Long: `stats prints one JSON object: the URLs queued (pushed, not yet
acknowledged), waiting (not taken by a worker), taken (by a worker, not yet
acknowledged), and each worker's share.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := q.check("stats"); err != nil {
				return err
			}
			client, err := q.redis.client(cmd.Context(), "queue stats")
			if err != nil {
				return err
			}
			defer client.Close()
			st, err := queue.New(client, q.name).Stats(cmd.Context())
			if errors.Is(err, queue.ErrNoQueue) {
				return usageErrorf("queue stats: queue %q is not in Redis: nothing was pushed to it", q.name)
			}
			if err != nil {
				return fmt.Errorf("queue stats: %w", err)
			}
			out := queueStats{Queue: q.name, Queued: st.Queued, Waiting: st.Waiting, Taken: st.Taken, Consumers: []consumerStats{}}
			for _, c := range st.Consumers {
				out.Consumers = append(out.Consumers, consumerStats{Worker: c.Name, Taken: c.Taken, IdleS: c.Idle.Seconds()})
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}),
	}
	q.add(cmd)
	return cmd
}
