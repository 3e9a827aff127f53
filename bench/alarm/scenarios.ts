/**
 * The town shapes the alarm benchmark measures, at 10, 100 and 1,000 agents. The same shapes
 * are built as plain reconciler input (Node) and as real TownDO rows (workerd).
 *
 * - all-working:    every agent is a polecat working on its own bead
 * - mostly-waiting: 10 % working (each on a bead), 90 % waiting (alive, each on a bead, idle session)
 * - mostly-exited:  10 % working (each on a bead), 90 % idle rows (finished runs: no process, no bead)
 */
export const AGENT_COUNTS = [10, 100, 1000] as const;
export const SCENARIOS = ['all-working', 'mostly-waiting', 'mostly-exited'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioShape {
  working: number;
  waiting: number;
  idle: number;
}

export function shapeOf(scenario: Scenario, agents: number): ScenarioShape {
  const tenth = Math.max(1, Math.round(agents / 10));
  switch (scenario) {
    case 'all-working':
      return { working: agents, waiting: 0, idle: 0 };
    case 'mostly-waiting':
      return { working: tenth, waiting: agents - tenth, idle: 0 };
    case 'mostly-exited':
      return { working: tenth, waiting: 0, idle: agents - tenth };
  }
}
