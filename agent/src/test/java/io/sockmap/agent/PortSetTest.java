package io.sockmap.agent;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortSetTest {
    @Test
    void parseAndPrint() {
        PortSet s = PortSet.parse(List.of("1", "65535", "8000-8002", "8003", "80-80"));
        assertEquals("1;80;8000-8003;65535", s.toString());
        assertTrue(s.contains(8002));
        assertFalse(s.contains(8004));
        assertFalse(s.contains(0));
        assertFalse(s.contains(70000));
        assertEquals("all", PortSet.ALL.toString());
        assertEquals("none", PortSet.NONE.toString());
        assertTrue(PortSet.ALL.contains(1));
        assertFalse(PortSet.ALL.contains(0));
        assertFalse(PortSet.ALL.isEmpty());
        assertTrue(PortSet.NONE.isEmpty());
    }

    @Test
    void rejects() {
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("0")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("65536")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("+80")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("80-")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("9-8")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.parse(List.of("1-2-3")));
        assertThrows(IllegalArgumentException.class, () -> PortSet.of(0));
    }

    @Test
    void intersection() {
        assertEquals("80", PortSet.of(80, 81).intersection(PortSet.of(80, 82)).toString());
        assertEquals(PortSet.of(5), PortSet.ALL.intersection(PortSet.of(5)));
        assertTrue(PortSet.of(1).intersection(PortSet.of(2)).isEmpty());
    }
}
