// chart.ts — Apache ECharts, only the parts the console draws (bar and pie on canvas), so the
// bundle stays small. Each chart's container carries the sum of the values it was given
// (data-total-microyen), which the browser test compares with the billing API and the CSV.
import * as echarts from "echarts/core";
import { BarChart, PieChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { h } from "./ui";

echarts.use([BarChart, PieChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

const toYen = (m: bigint) => Number(m) / 1e6;

function box(label: string, data: Map<string, bigint>): HTMLElement {
  let total = 0n;
  for (const v of data.values()) total += v;
  return h("div", {
    class: "chart",
    role: "img",
    "aria-label": label,
    "data-chart": label,
    "data-total-microyen": total.toString(),
  });
}

function mount(el: HTMLElement, option: echarts.EChartsCoreOption): void {
  // the container must be in the document to have a size
  requestAnimationFrame(() => {
    const c = echarts.init(el, undefined, { renderer: "canvas" });
    c.setOption({ aria: { enabled: true }, animation: false, ...option });
    new ResizeObserver(() => c.resize()).observe(el);
  });
}

export function barChart(label: string, data: Map<string, bigint>, unit: string): HTMLElement {
  const el = box(label, data);
  const keys = [...data.keys()];
  mount(el, {
    tooltip: { trigger: "axis", valueFormatter: (v: unknown) => `${v} ${unit}` },
    grid: { left: 80, right: 20, top: 20, bottom: 40 },
    xAxis: { type: "category", data: keys },
    yAxis: { type: "value" },
    series: [{ type: "bar", name: label, data: keys.map((k) => toYen(data.get(k)!)), itemStyle: { color: "#1d4e89" } }],
  });
  return el;
}

export function pieChart(label: string, data: Map<string, bigint>, unit: string): HTMLElement {
  const el = box(label, data);
  mount(el, {
    tooltip: { trigger: "item", valueFormatter: (v: unknown) => `${v} ${unit}` },
    legend: { bottom: 0 },
    series: [
      {
        type: "pie",
        name: label,
        radius: ["35%", "65%"],
        data: [...data.entries()].map(([name, v]) => ({ name, value: toYen(v) })),
      },
    ],
  });
  return el;
}
